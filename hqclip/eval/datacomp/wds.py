"""Read a DataComp wds task folder in batches, images decoded and transformed in DataLoader worker
processes (each takes every n-th shard). A sample is `<key>.webp|png|jpg|jpeg`, `<key>.cls` (the
label; none in FairFace/UTKFace) and, in the WILDS and fairness sets, `<key>.npy` (a metadata
vector). A shard that cannot be read to its end is a UserError naming it: a score over part of a
test set is not DataComp's score, so nothing is skipped."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from hqclip.data.samples import BadSample, decode_image
from hqclip.data.shards import iter_raw
from hqclip.errors import UserError

IMAGE_KEYS = ("webp", "png", "jpg", "jpeg")  # DataComp's order (wds_eval.create_webdataset)


def _sample(raw: dict, preprocess, need_cls: bool):
    ext = next((e for e in IMAGE_KEYS if e in raw), None)
    if ext is None:
        raise BadSample("missing_image")
    if need_cls and "cls" not in raw:
        raise BadSample("missing_label", "no .cls member")
    image = preprocess(decode_image(raw[ext]))
    cls = int(raw["cls"]) if "cls" in raw else -1
    npy = np.load(io.BytesIO(raw["npy"]), allow_pickle=False) if "npy" in raw else None
    return image, cls, npy


def _collate(batch: list) -> dict:
    npys = [b[2] for b in batch]
    return {
        "images": torch.stack([b[0] for b in batch]),
        "cls": torch.tensor([b[1] for b in batch]),
        "npy": np.stack(npys) if all(n is not None for n in npys) else None,
    }


class ShardBatches(IterableDataset):
    """Collated batches; a failure is yielded as
    {"error": "<tar>: sample <key>: <reason>"} so the main process can name it in one line."""

    def __init__(self, tars: list[Path], preprocess, batch_size: int, need_cls: bool):
        self.tars, self.preprocess, self.batch_size, self.need_cls = tars, preprocess, batch_size, need_cls

    def __iter__(self) -> Iterator[dict]:
        info = torch.utils.data.get_worker_info()
        mine = self.tars[info.id :: info.num_workers] if info else self.tars
        buf: list = []
        for tar in mine:
            key = "<start>"
            try:
                for raw in iter_raw(tar):
                    key = raw["__key__"]
                    buf.append(_sample(raw, self.preprocess, self.need_cls))
                    if len(buf) == self.batch_size:
                        yield _collate(buf)
                        buf = []
            except BadSample as e:
                yield {"error": f"{tar}: sample {key}: {e.reason} {e.detail}".strip()}
                return
            except (tarfile.ReadError, EOFError, OSError, ValueError) as e:
                yield {"error": f"{tar}: unreadable after sample {key} ({type(e).__name__}: {e})"}
                return
        if buf:
            yield _collate(buf)


def batches(tars: list[Path], preprocess, batch_size: int, workers: int, need_cls: bool, refetch: str):
    """Collated batches over all `tars`; a corrupt one raises UserError with `refetch` (the command
    that fetches the folder again)."""
    ds = ShardBatches(tars, preprocess, batch_size, need_cls)
    loader = DataLoader(ds, batch_size=None, num_workers=min(workers, len(tars)))
    for batch in loader:
        if "error" in batch:
            raise UserError(f"{batch['error']}; delete the folder and fetch it again: {refetch}")
        yield batch
