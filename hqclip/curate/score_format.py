"""Score sidecars: one parquet file per input shard, beside nothing else, named like its refine
sidecar (`<shard>.parquet`), one row per sample of the shard keyed by (uid, key). Each value is
the cosine similarity of the image with one text: the alt-text, each description sentence and its
aligned negative (and their margin, positive − negative), each tag and negative tag, in the order
of the record the training loader reads (`hqclip.data.sidecar.read_annotations`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hqclip.data.sidecar import write_sidecar

_floats = pa.list_(pa.float32())

SCORE_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("key", pa.string()),
        ("status", pa.string()),  # ok | no_record (alt-text only) | input:<reason> (no image)
        ("alt", pa.float32()),  # null: empty alt-text or unreadable image
        ("desc", _floats),  # null: no valid record for this sample
        ("neg_desc", _floats),
        ("margin", _floats),  # desc − neg_desc, per sentence
        ("tags", _floats),
        ("neg_tags", _floats),
    ]
)
SCORE_FIELDS = ("desc", "neg_desc", "tags", "neg_tags")


def write_scores(path: str | os.PathLike, rows: list[dict[str, Any]], metadata: dict[str, Any]) -> Path:
    return write_sidecar(path, rows, metadata, schema=SCORE_SCHEMA)


def read_scores(path: str | os.PathLike, columns: list[str] | None = None) -> list[dict[str, Any]]:
    return pq.read_table(path, columns=columns).to_pylist()


def is_scores(path: str | os.PathLike) -> bool:
    """A readable parquet file with the score columns."""
    try:
        return {"uid", "margin", *SCORE_FIELDS} <= set(pq.read_schema(path).names)
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a file it cannot read
        return False
