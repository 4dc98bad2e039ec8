"""Fixtures for the VLM-150M import tests: released records, and image shards with img2dataset's
manifests beside them."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from hqclip.data.shards import write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.data.testimages import png

NECKLACE = {
    "desc": [
        "the image shows a vintage women's necklace made of 18K gold",
        "the pendant is shaped like a heart",
    ],
    "neg_desc": [
        "the image shows a modern men's necklace made of silver",
        "the pendant is shaped like a star",
    ],
    "tags": ["vintage necklace", "18K gold necklace", "heart pendant"],
    "neg_tags": ["modern necklace", "silver necklace", "star pendant"],
}


def uid(i: int) -> str:
    return f"{i:032x}"


def rec(i: int) -> dict:
    return {**NECKLACE, "tags": [f"{t} {i}" for t in NECKLACE["tags"]]}


def shards_for(root, uids_per_shard, img2dataset=True):
    """Image shards holding `uids_per_shard` (a list per shard); img2dataset's parquet beside
    each (key, uid, status: one failed download per shard) unless `img2dataset` is False."""
    keys = iter(range(10**6))
    samples, manifests = [], []
    for uids in uids_per_shard:
        rows = []
        for u in uids:
            k = f"{next(keys):09d}"
            samples.append({"__key__": k, "png": png(), "txt": "alt", "json": {"uid": u}})
            rows.append((k, u))
        manifests.append(rows)
    paths = write_shards(samples, root, maxcount=len(uids_per_shard[0]))
    for path, rows in zip(paths, manifests):
        if img2dataset:
            pq.write_table(
                pa.table(
                    {
                        "key": [k for k, _ in rows] + ["999999999"],
                        "uid": [u for _, u in rows] + [uid(10**6)],
                        "status": ["success"] * len(rows) + ["failed_to_download"],
                    }
                ),
                path.with_suffix(".parquet"),
            )
    return paths


def released(root, records: dict[str, dict], per_folder=3):
    """`root/NNNNN/<uid>.json` in folders of `per_folder`; returns {relative path: obj}."""
    files = {}
    for i, (u, obj) in enumerate(records.items()):
        folder = root / f"{i // per_folder:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{u}.json").write_text(json.dumps(obj, ensure_ascii=False))
        files[f"{folder.name}/{u}.json"] = obj
    return files


def rows_by_uid(folder):
    return {r["uid"]: r for p in sorted(folder.glob("*.parquet")) for r in read_sidecar(p)}
