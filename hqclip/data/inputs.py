"""What a per-shard command reads: `--input` resolved to its work units (webdataset tars or
caption tables), each unit's samples, and a cheap estimate of how many samples are left."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

from hqclip.data.samples import Sample, SkipLog
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.tables import TABLE_SUFFIXES, iter_table
from hqclip.errors import UserError


def resolve_inputs(path: str | Path) -> list[Path]:
    """A world folder (its train/ shards), a folder of tars or caption tables, one tar or table,
    or a brace pattern of tars. A path that gives no unit is the user's to fix (`UserError`)."""
    p = Path(path)
    if p.is_dir():
        units = list_shards(p) or sorted(q for q in p.iterdir() if q.suffix in TABLE_SUFFIXES)
    elif p.suffix in TABLE_SUFFIXES and p.exists():
        units = [p]
    else:
        try:
            units = list_shards(path)
        except FileNotFoundError as e:
            raise UserError(f"--input {e}") from None
    if not units:
        raise UserError(f"--input {path}: no .tar shards or caption tables (csv/parquet/jsonl) found")
    missing = [u for u in units if not u.exists()]
    if missing:
        raise UserError(f"--input {missing[0]}: no such shard ({len(missing)} missing)")
    return units


def iter_unit(path: Path, skips: SkipLog) -> Iterator[Sample]:
    """A work unit is a webdataset tar or a caption table (images not decoded: the caller does)."""
    if path.suffix in TABLE_SUFFIXES:
        return iter_table(path, skips=skips, decode=False)
    return iter_shard(path, skips, decode=False)


def _count_samples(unit: Path) -> int | None:
    if unit.suffix != ".tar":
        return None
    try:
        with tarfile.open(unit) as tf:
            return len({m.name.split(".", 1)[0] for m in tf})
    except (tarfile.TarError, OSError):
        return None


def estimate_total(todo: list[Path]) -> int | None:
    """Samples still to do, from the first shard's size (counting every shard costs a pass)."""
    first = _count_samples(todo[0]) if todo else 0
    return None if first is None else first * len(todo)
