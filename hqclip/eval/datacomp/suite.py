"""`hqclip eval --suite datacomp`: models × DataComp tasks, resumable.

Every chosen task folder is checked before any model is loaded. Per model, each finished task is
written to OUT/<label>/tasks/<task>.json with a done marker holding the fingerprint of the weights
(`hqclip.units.resume`), so a rerun after a kill does only the tasks left; the weights changing
under the same label is a ConfigMismatch unless --overwrite. OUT/<label>/eval_results.jsonl holds
DataComp's own lines (`{"key", "dataset", "metrics": {..., "main_metric"}}`), which DataComp's
`aggregate_scores.py` reads unchanged; OUT/results.{json,md} and summary.png are the report."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from hqclip.clip.load import weights_hash
from hqclip.data.atomic import write_text
from hqclip.eval.datacomp import layout
from hqclip.eval.datacomp.aggregate import aggregate
from hqclip.eval.datacomp.tasks import Task, select
from hqclip.eval.evaluation import ModelsArg, resolve_models
from hqclip.units import resume

log = logging.getLogger("hqclip.eval")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def _task_file(model_dir: Path, task: Task) -> Path:
    return model_dir / "tasks" / f"{_slug(task.key)}.json"


def jsonl_line(task: Task, metrics: dict) -> str:
    return json.dumps({"key": task.key, "dataset": task.name, "metrics": metrics})


def run_model(
    m, chosen: list[Task], data_dir: Path, model_dir: Path, *, batch_size, workers, overwrite
) -> dict:
    """{display name: metrics} of every chosen task for one loaded model, finished ones read back."""
    from hqclip.eval.datacomp.evaluate import Prototypes, evaluate_task

    fp = resume.fingerprint({"weights": weights_hash(m)})
    (model_dir / "tasks").mkdir(parents=True, exist_ok=True)
    resume.clean_leftovers(model_dir / "tasks")
    by_path = {_task_file(model_dir, t): t for t in chosen}
    todo, _ = resume.plan(list(by_path), lambda p: p, fp, overwrite, stamp=lambda p: None)
    if len(todo) < len(chosen):
        log.info("%s: %d of %d tasks done before; resuming", m.label, len(chosen) - len(todo), len(chosen))
    protos = Prototypes(m, batch_size)
    for i, path in enumerate(todo, 1):
        task = by_path[path]
        resume.mark_running(path)
        metrics = evaluate_task(m, task, data_dir, batch_size, workers, protos)
        write_text(path, json.dumps(metrics, sort_keys=True) + "\n")
        resume.mark_done(path, fp, {"main_metric": metrics["main_metric"]}, None)
        log.info(
            "%s: task %d/%d %s: %s = %s",
            m.label,
            i,
            len(todo),
            task.name,
            task.metric,
            metrics["main_metric"],
        )
    results = {t.name: json.loads(_task_file(model_dir, t).read_text()) for t in chosen}
    write_text(
        model_dir / "eval_results.jsonl",
        "".join(jsonl_line(t, results[t.name]) + "\n" for t in chosen),
    )
    return {"fingerprint": fp, "tasks": results}


def run_suite(
    models: ModelsArg,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    batch_size: int = 64,
    workers: int = 4,
    device: str = "cpu",
    seed: int = 0,
    overwrite: bool = False,
) -> dict:
    """Evaluate `models` on the chosen DataComp tasks (all 40 by default) and write the report."""
    from hqclip.eval.datacomp.report import write_report

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    chosen = select(list(tasks) if tasks else None)
    for task in chosen:
        layout.check(task, data_dir)
    results: dict = {
        "suite": "datacomp",
        "data": str(data_dir),
        "tasks": [t.key for t in chosen],
        "models": {},
    }
    for m in resolve_models(models, device, seed):
        entry = run_model(
            m,
            chosen,
            data_dir,
            out_dir / _slug(m.label),
            batch_size=batch_size,
            workers=workers,
            overwrite=overwrite,
        )
        entry["aggregates"] = aggregate({n: r["main_metric"] for n, r in entry["tasks"].items()})
        results["models"][m.label] = {"spec": m.spec, **entry}
    write_report(results, out_dir)
    return results
