"""A folder of images with a caption table (CSV, parquet or JSONL) read as Samples.

Columns are found by common names: image path (`image`, `path`, `filepath`, `file_name`,
`filename`, `url` for local paths), caption (`caption`, `text`, `alt`, `txt`), optional `uid` and
`key` (img2dataset's; default: the row number). Relative paths resolve against `image_root`
(default: the table's folder). Rows stream (parquet by record batch); a sample's position is its
row number, so a reader can restart at any row (training's resume)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hqclip.data.samples import DEFAULT_MAX_PIXELS, BadSample, Sample, SkipLog, decode_image, derived_uid

IMAGE_COLUMNS = ("image", "path", "filepath", "file_name", "filename", "url")
CAPTION_COLUMNS = ("caption", "text", "alt", "txt")
TABLE_SUFFIXES = (".csv", ".parquet", ".jsonl")


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows as dicts; undecodable bytes survive as surrogates so one bad row is one skip."""
    if path.suffix == ".parquet":
        for batch in pq.ParquetFile(path).iter_batches():
            yield from batch.to_pylist()
    elif path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
            yield from csv.DictReader(f)
    elif path.suffix == ".jsonl":
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for n, line in enumerate(f):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except ValueError as e:
                        yield {"__error__": f"line {n + 1}: {e}"}
                        continue
                    yield row if isinstance(row, dict) else {"__error__": f"line {n + 1}: not an object"}
    else:
        raise ValueError(f"{path}: caption table must be one of {TABLE_SUFFIXES}")


def table_rows(path: Path) -> int:
    """Rows of a table without reading its images (parquet: from its footer)."""
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    return sum(1 for _ in _rows(path))


def _column(columns: Any, candidates: tuple[str, ...], path: Path, what: str) -> str:
    found = next((c for c in candidates if c in columns), None)
    if found is None:
        raise ValueError(f"{path}: no {what} column; name one of {', '.join(candidates)}")
    return found


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadSample("non_utf8_text", str(e)) from e
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise BadSample("non_utf8_text", str(e)) from e
    return value


def iter_table(
    table: str | os.PathLike,
    image_root: str | os.PathLike | None = None,
    skips: SkipLog | None = None,
    decode: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    start: int = 0,
) -> Iterator[Sample]:
    """The good rows from row `start` on (a sample's `offset` or `end`); bad ones skipped and named."""
    path = Path(table)
    root = Path(image_root) if image_root else path.parent
    skips = skips if skips is not None else SkipLog()
    source = str(path)
    img_col = cap_col = None
    for n, row in enumerate(_rows(path)):
        if n < start:
            continue
        key = str(row.get("key") or f"{n:09d}")
        if "__error__" in row:
            skips.skip(source, key, "bad_json", row["__error__"])
            continue
        if img_col is None:
            img_col = _column(row, IMAGE_COLUMNS, path, "image path")
            cap_col = _column(row, CAPTION_COLUMNS, path, "caption")
        try:
            rel = row.get(img_col)
            if not rel:
                raise BadSample("missing_image", "empty path")
            file = root / _text(rel)
            try:
                data = file.read_bytes()
            except OSError as e:
                raise BadSample("missing_image", str(e)) from e
            if row.get(cap_col) is None:
                raise BadSample("missing_caption")
            text = _text(row[cap_col])
            image = decode_image(data, max_pixels) if decode else None
        except BadSample as e:
            skips.skip(source, key, e.reason, e.detail)
            continue
        uid = str(row.get("uid") or derived_uid(path.name, key))
        yield Sample(
            key=key,
            uid=uid,
            text=text,
            image_bytes=data,
            ext=file.suffix.lstrip(".").lower(),
            meta={"path": str(rel)},
            source=source,
            image=image,
            offset=n,
            end=n + 1,
        )
