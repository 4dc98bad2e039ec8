"""The released VLM-150M / VLM-1B annotation layout: one `<uid>.json` per sample in numbered folders
(`00000/…`, `00001/…`), or tar / tar.gz archives of such folders. Reading it record by record
(`release_units`, `iter_release`, `parse_record`) for the import (`hqclip.vlm150m.importer`),
and writing it from sidecars (`export_vlm150m`) to publish your own."""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import list_sidecars, read_sidecar
from hqclip.errors import UserError
from hqclip.progress import bar
from hqclip.schema import FIELDS, normalize, validate

SOURCE_MODEL = "vlm150m-import"
ARCHIVES = (".tar", ".tar.gz", ".tgz")
_UID = re.compile(r"[0-9a-fA-F]{32}")


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith(ARCHIVES)


def release_units(root: str | os.PathLike) -> list[Path]:
    """The release's parts in release order (sorted by name): numbered folders, archives, and
    `root` itself when JSON files lie right in it."""
    root = Path(root)
    units = sorted((p for p in root.iterdir() if p.is_dir() or is_archive(p)), key=lambda p: p.name)
    if any(root.glob("*.json")):
        units.append(root)
    return units


def iter_release(unit: Path, skips: SkipLog) -> Iterator[tuple[str, bytes]]:
    """(file stem, bytes) of each `.json` of a folder (sorted; not recursive) or archive (in its
    order; read as a stream, no extraction). An unreadable member is skipped and counted; a
    damaged archive ends where the damage starts."""
    if unit.is_dir():
        for name in sorted(e.name for e in os.scandir(unit) if e.name.endswith(".json")):
            try:
                with open(os.path.join(unit, name), "rb") as f:
                    yield name[:-5], f.read()
            except OSError as e:
                skips.skip(str(unit / name), name[:-5], "unreadable_member", str(e))
        return
    name = "<start>"
    try:
        with tarfile.open(unit, "r|*") as tf:
            for m in tf:
                name = m.name
                if not (m.isreg() and name.endswith(".json")):
                    continue
                try:
                    data = tf.extractfile(m).read()
                except (tarfile.TarError, OSError, EOFError) as e:
                    skips.skip(str(unit), name, "unreadable_member", str(e))
                    return
                yield Path(name).stem, data
                tf.members = []
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:  # gzip/zlib damage included
        skips.skip(str(unit), f"after {name}", "unreadable_member", f"{type(e).__name__}: {e}")


def parse_record(stem: str, data: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(row, None) for a usable record, else (None, skip reason). The row: lower-case `uid`, the
    record as JSON `text` (a valid record's own text; one that only needed normalising is stored
    normalised, with reason `normalized` and the original in `raw`), fields beyond the four as
    JSON in `extra`. Keeping the text instead of Python lists spares the import its costliest
    conversion: DuckDB turns the text into the sidecar's list columns."""
    if not _UID.fullmatch(stem):
        return None, "bad_uid"
    try:
        text = data.decode("utf-8")
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None, "bad_json"
    if not isinstance(obj, dict):
        return None, "not_an_object"
    rec = {k: v for k, v in obj.items() if k in FIELDS}
    extra = {k: v for k, v in obj.items() if k not in FIELDS}
    row: dict[str, Any] = {
        "uid": stem.lower(),
        "text": text,
        "reason": None,
        "raw": None,
        "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
    }
    if validate(rec) is None:
        return row, None
    fixed = normalize(rec)
    reason = validate(fixed)
    if reason is not None:
        return None, f"invalid_record:{reason}"
    return {**row, "text": json.dumps(fixed, ensure_ascii=False), "reason": "normalized", "raw": text}, None


def _write(path: Path, text: str) -> None:
    """Temp file + rename (no fsync: millions of small files; a crashed export is rerun)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _folder_name(sidecar: Path, index: int) -> str:
    """Imported sidecars keep their folder name; refine's `shard-000123` becomes `000123`."""
    digits = re.findall(r"\d+", sidecar.stem)
    return digits[-1] if digits else f"{index:05d}"


def export_vlm150m(sidecar_dir: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, int]:
    """Write `<out_dir>/<folder>/<uid>.json` for every `ok` row (an imported record that was
    normalised is written as it was released, from `raw`); returns counts."""
    out = Path(out_dir)
    sidecars = list_sidecars(sidecar_dir)
    if not sidecars:
        raise UserError(
            f"--sidecars {sidecar_dir}: no sidecar (.parquet) there; pass the --output "
            f"folder of `hqclip refine` or `hqclip import-vlm150m`"
        )
    counts = {"written": 0, "skipped_invalid": 0}
    for i, sc in enumerate(bar(sidecars, desc="export vlm150m", unit="sidecar")):
        folder = out / ("" if sc.stem == "root" else _folder_name(sc, i))
        for row in read_sidecar(sc):
            if row["status"] != "ok":
                counts["skipped_invalid"] += 1
                continue
            obj = {f: row[f] for f in FIELDS}
            if row.get("extra"):
                obj.update(json.loads(row["extra"]))
            text = (
                row["raw"]
                if row.get("reason") == "normalized" and row.get("raw")
                else json.dumps(obj, ensure_ascii=False)
            )
            _write(folder / f"{row['uid']}.json", text)
            counts["written"] += 1
    return counts
