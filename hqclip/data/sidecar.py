"""Sidecar store: one parquet file per input shard holding the refined annotation of each sample.

Tars are never rewritten. A sidecar row is keyed by (uid, key) and carries the record plus the
provenance of how it was made. Training joins each shard to its own sidecar by uid, as the loader
opens the shard (`read_annotations`), so nothing ever holds the annotations of the whole dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hqclip.data.atomic import atomic_open
from hqclip.data.samples import SkipLog
from hqclip.schema import FIELDS, Record, normalize, validate

_str_list = pa.list_(pa.string())

SIDECAR_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("key", pa.string()),
        ("desc", _str_list),
        ("neg_desc", _str_list),
        ("tags", _str_list),
        ("neg_tags", _str_list),
        ("status", pa.string()),  # "ok" | "invalid"
        ("reason", pa.string()),  # validator reason or backend error; null when ok
        ("attempts", pa.int32()),
        ("model", pa.string()),
        ("prompt_hash", pa.string()),
        ("tokens_in", pa.int32()),
        ("tokens_out", pa.int32()),
        ("latency_s", pa.float32()),
        ("raw", pa.string()),  # the model's last output (clipped): invalid and salvaged rows
        ("extra", pa.string()),  # JSON of source-record fields beyond the four (import/export)
        ("dropped", _str_list),  # pairs salvage removed from an ok answer: "<reason>@<i>"
    ]
)
COLUMNS = SIDECAR_SCHEMA.names
SUFFIX = ".parquet"


def sidecar_path(shard: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """`out_dir/<shard stem>.parquet`: the sidecar of one input shard."""
    return Path(out_dir) / (Path(shard).name.removesuffix(".tar") + SUFFIX)


def write_sidecar(
    path: str | os.PathLike,
    rows: Iterable[dict[str, Any]] | pa.Table,
    metadata: dict[str, Any] | None = None,
    schema: pa.Schema = SIDECAR_SCHEMA,
) -> Path:
    """Write rows (dicts, or an Arrow table with sidecar columns) atomically. Missing columns are
    null; `metadata` (e.g. the run fingerprint) is stored JSON-encoded in the parquet key-value
    metadata under `hqclip`. `schema`: another per-shard table keyed the same way (the score
    sidecars and drop logs of `hqclip.curate`)."""
    if isinstance(rows, pa.Table):
        table = pa.table(
            {c: rows[c] if c in rows.column_names else pa.nulls(len(rows)) for c in schema.names}
        ).cast(schema)
    else:
        table = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)
    if metadata:
        table = table.replace_schema_metadata({"hqclip": json.dumps(metadata, sort_keys=True)})
    path = Path(path)
    with atomic_open(path, "wb") as f:
        pq.write_table(table, f, compression="zstd")
    return path


def read_sidecar(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows as dicts; a column that an older sidecar lacks (e.g. `dropped`) is absent."""
    return pq.read_table(path).to_pylist()


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"hqclip")
    return json.loads(raw) if raw else {}


def row_record(row: dict[str, Any]) -> Record | None:
    """The annotation of an `ok` row, else None."""
    if row.get("status") != "ok":
        return None
    return {f: list(row[f]) for f in FIELDS}  # type: ignore[return-value]


def is_sidecar(path: str | os.PathLike) -> bool:
    """A readable parquet file with a uid, a status and the record's four text lists (a score
    sidecar has lists of the same names, of numbers; img2dataset's per-shard parquet has none)."""
    try:
        schema = pq.read_schema(path)
    except Exception:  # noqa: BLE001 - any unreadable file is not a sidecar
        return False
    return (
        "uid" in schema.names
        and "status" in schema.names
        and all(f in schema.names and schema.field(f).type == pa.list_(pa.string()) for f in FIELDS)
    )


def list_sidecars(path: str | os.PathLike) -> list[Path]:
    """The sidecars of a folder, or the one sidecar file `path`; none for a missing path."""
    p = Path(path)
    return [p] if p.is_file() else sorted(p.glob(f"*{SUFFIX}"))


def read_annotations(path: str | os.PathLike, skips: SkipLog) -> dict[str, Record]:
    """uid → valid, normalised record of one sidecar's `ok` rows (a later row of a uid wins): the
    records training uses. A missing sidecar gives {}; a damaged one and each record failing
    `validate` are skipped and counted, never fatal."""
    try:
        rows = pq.read_table(path, columns=["uid", "status", *FIELDS]).to_pylist()
    except FileNotFoundError:
        return {}
    except Exception as e:  # pyarrow raises several types for a damaged file
        skips.skip(str(path), "*", "unreadable_sidecar", f"{type(e).__name__}: {e}")
        return {}
    return annotations(rows, path, skips)


def annotations(rows: list[dict[str, Any]], path: str | os.PathLike, skips: SkipLog) -> dict[str, Record]:
    """`read_annotations` of the rows of sidecar `path` already read (`read_sidecar`), for a reader
    that needs the rows too."""
    latest = {row["uid"]: rec for row in rows if (rec := row_record(row)) is not None}
    out: dict[str, Record] = {}
    for uid, rec in latest.items():
        rec = normalize(rec)
        reason = validate(rec)
        if reason:
            skips.skip(str(path), uid, f"invalid_record:{reason}")
        else:
            out[uid] = rec
    return out
