"""`hqclip download-datacomp`: fetch the suite's sets from the Hugging Face hub, each into its
folder under --data-dir (djghosh/wds_*_test for the wds tasks, as DataComp's
`download_evalsets.py`; nlphuji's repositories, as files, for Flickr, MSCOCO and WinoGAViL).
A folder that already passes the suite's check is left alone; one that does not is completed by
`snapshot_download`, which keeps the files already there, so an interrupted fetch resumes."""

from __future__ import annotations

import logging
from pathlib import Path

from hqclip.errors import UserError, first_line
from hqclip.eval.datacomp import layout
from hqclip.eval.datacomp.tasks import select

log = logging.getLogger("hqclip.eval")


def fetch(
    data_dir: Path, keys: list[str] | None = None, endpoint: str | None = None, workers: int = 8
) -> list[str]:
    """Keys of the tasks fetched (the others were complete already)."""
    from huggingface_hub import snapshot_download

    data_dir = Path(data_dir)
    fetched = []
    for task in select(keys):
        try:
            layout.check(task, data_dir)
            continue
        except UserError:
            pass
        log.info("fetching %s (%s) into %s", task.name, task.repo, data_dir / task.folder)
        try:
            snapshot_download(
                task.repo,
                repo_type="dataset",
                local_dir=data_dir / task.folder,
                endpoint=endpoint,
                max_workers=workers,
            )
        except OSError as e:  # the hub's HTTP errors, offline mode and connection failures are OSErrors
            raise UserError(
                f"{task.repo}: cannot fetch into {data_dir / task.folder} "
                f"({type(e).__name__}: {first_line(e)}); "
                f"check the network (HF_HUB_OFFLINE, HF_ENDPOINT, --endpoint) and rerun to resume"
            ) from e
        layout.check(task, data_dir)
        fetched.append(task.key)
    return fetched
