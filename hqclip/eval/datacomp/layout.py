"""What each task's folder must hold under --data-dir, checked for every chosen task before any
model is loaded. wds folders are DataComp's (`download_evalsets.py`, CLIP_benchmark's
`build_wds_dataset`): classnames.txt, zeroshot_classification_templates.txt, test/nshards.txt and
test/0.tar ... test/{N-1}.tar. The three Hugging Face sets are their repositories as files
(`hqclip.eval.datacomp.hf`)."""

from __future__ import annotations

from pathlib import Path

from hqclip.errors import UserError
from hqclip.eval.datacomp import hf
from hqclip.eval.datacomp.tasks import Task

CLASSNAMES = "classnames.txt"
TEMPLATES = "zeroshot_classification_templates.txt"


def fetch_command(data_dir: Path, task: Task) -> str:
    return f"hqclip download-datacomp --data-dir {data_dir} --tasks {task.key}"


def read_lines(path: Path) -> list[str]:
    """Stripped non-empty lines, as CLIP_benchmark 1.4.0 (DataComp's pin) reads both files."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shards(folder: Path) -> list[Path]:
    n = int((folder / "test" / "nshards.txt").read_text().strip())
    return [folder / "test" / f"{i}.tar" for i in range(n)]


def _wds_problem(folder: Path) -> str | None:
    kind_file = folder / "dataset_type.txt"
    if kind_file.is_file() and kind_file.read_text().strip().lower() not in ("", "classification"):
        return f"a {kind_file.read_text().strip()} set (dataset_type.txt), not a classification one"
    for name in (CLASSNAMES, TEMPLATES, "test/nshards.txt"):
        if not (folder / name).is_file():
            return f"no {name}"
    try:
        tars = shards(folder)
    except ValueError:
        return "test/nshards.txt does not hold a number"
    missing = [t for t in tars if not t.is_file()]
    return f"no test/{missing[0].name} (of {len(tars)} shards)" if missing else None


def check(task: Task, data_dir: Path) -> None:
    """UserError naming the folder and the command that fetches it when `task` cannot be read."""
    folder = data_dir / task.folder
    if not folder.is_dir():
        raise UserError(
            f"{folder}: missing (DataComp task {task.name}); fetch it: {fetch_command(data_dir, task)}"
        )
    problem = _wds_problem(folder) if task.wds else hf.problem(task, folder)
    if problem:
        raise UserError(
            f"{folder}: not DataComp's {task.name} folder ({problem}); fetch it again: "
            f"{fetch_command(data_dir, task)}"
        )
