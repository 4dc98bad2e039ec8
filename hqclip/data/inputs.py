"""What a per-shard command reads: `--input` resolved to its work units (webdataset tars, caption
tables or folders of images with `.txt` captions), each unit's samples from any position, how many
samples a unit holds, and a cheap estimate of how many samples are left."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

from hqclip.data.folders import images_in, iter_folder
from hqclip.data.samples import DEFAULT_MAX_PIXELS, IMAGE_EXTS, Sample, SkipLog
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.tables import TABLE_SUFFIXES, iter_table, table_rows
from hqclip.errors import UserError


def _captioned(folder: Path) -> bool:
    images = images_in(folder)
    return bool(images) and images[0].with_suffix(".txt").is_file()


def _image_folders(p: Path) -> list[Path]:
    """`p` itself when it holds captioned images, else its subfolders that do (img2dataset's
    `files` layout)."""
    if _captioned(p):
        return [p]
    return [q for q in sorted(p.iterdir()) if q.is_dir() and _captioned(q)]


def resolve_inputs(path: str | Path) -> list[Path]:
    """A world folder (its train/ shards), a folder of tars, of caption tables or of images with
    `.txt` captions (or of such image folders), one tar or table, or a brace pattern of tars. A
    path that gives no unit is the user's to fix (`UserError`)."""
    p = Path(path)
    if p.is_dir():
        # image folders before tables: img2dataset writes a metadata .parquet beside each folder
        units = (
            list_shards(p)
            or _image_folders(p)
            or sorted(q for q in p.iterdir() if q.suffix in TABLE_SUFFIXES)
        )
    elif p.suffix in TABLE_SUFFIXES and p.exists():
        units = [p]
    else:
        try:
            units = list_shards(path)
        except FileNotFoundError as e:
            raise UserError(f"--input {e}") from None
    if not units:
        raise UserError(
            f"--input {path}: no .tar shards, caption tables (csv/parquet/jsonl) or images with .txt "
            "captions found"
        )
    missing = [u for u in units if not u.exists()]
    if missing:
        raise UserError(
            f"--input {path}: {missing[0]} does not exist ({len(missing)} of {len(units)} shards missing)"
        )
    return units


def iter_unit(
    path: Path, skips: SkipLog, decode: bool = False, start: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[Sample]:
    """A work unit's samples from position `start` (a sample's `offset` or `end`: a byte offset in
    a tar, a row of a table, an image of a folder); images decoded only when `decode`."""
    if path.suffix in TABLE_SUFFIXES:
        return iter_table(path, skips=skips, decode=decode, max_pixels=max_pixels, start=start)
    if path.is_dir():
        return iter_folder(path, skips, decode, max_pixels, start)
    return iter_shard(path, skips, decode, max_pixels, start)


def count_unit(path: Path) -> int:
    """Samples in a unit without decoding: image members of a tar (from its headers), rows of a
    table, images of a folder; an unreadable tar counts none (its reader skips it)."""
    if path.suffix in TABLE_SUFFIXES:
        return table_rows(path)
    if path.is_dir():
        return len(images_in(path))
    keys = set()
    try:
        with tarfile.open(path) as tf:
            for m in tf:
                stem, _, ext = m.name.rpartition(".")
                if ext.lower() in IMAGE_EXTS:
                    keys.add(stem)
    except (tarfile.TarError, OSError, EOFError):
        pass
    return len(keys)


def estimate_total(todo: list[Path]) -> int:
    """Samples still to do, from the first unit's size (counting every unit costs a pass)."""
    return count_unit(todo[0]) * len(todo) if todo else 0
