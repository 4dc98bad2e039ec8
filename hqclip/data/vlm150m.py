"""Import and export of the released VLM-150M / VLM-1B annotation layout: one `<uid>.json` per
sample in numbered folders (`00000/…`, `00001/…`). One folder ↔ one sidecar, so a round trip
gives back the same folders, files and JSON values."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hqclip.data.sidecar import list_sidecars, read_sidecar, write_sidecar
from hqclip.data.samples import SkipLog
from hqclip.schema import FIELDS, normalize, validate

SOURCE_MODEL = "vlm150m-import"


def _row(uid: str, obj: Any, text: str) -> dict[str, Any]:
    """A sidecar row: valid records kept verbatim; ones that only need normalising normalised
    (reason `normalized`, original in `raw`); the rest invalid with the validator's reason."""
    base = {"uid": uid, "key": uid, "attempts": 0, "model": SOURCE_MODEL}
    if not isinstance(obj, dict):
        return {**base, "status": "invalid", "reason": validate(obj), "raw": text}
    extra = {k: v for k, v in obj.items() if k not in FIELDS}
    rec = {k: v for k, v in obj.items() if k in FIELDS}
    base["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
    if validate(rec) is None:
        return {**base, **rec, "status": "ok"}
    fixed = normalize(rec)
    reason = validate(fixed)
    if reason is None:
        return {**base, **fixed, "status": "ok", "reason": "normalized", "raw": text}
    return {**base, "status": "invalid", "reason": reason, "raw": text}


def import_vlm150m(src: str | os.PathLike, sidecar_dir: str | os.PathLike,
                   skips: SkipLog | None = None) -> dict[str, int]:
    """Each numbered folder of `src` becomes `<sidecar_dir>/<folder>.parquet`; JSON files right
    in `src` go to `root.parquet`. Returns counts per status."""
    src, out = Path(src), Path(sidecar_dir)
    skips = skips if skips is not None else SkipLog()
    folders = sorted(p for p in src.iterdir() if p.is_dir())
    if any(src.glob("*.json")):
        folders.append(src)
    counts = {"ok": 0, "normalized": 0, "invalid": 0}
    for folder in tqdm(folders, desc="import vlm150m", unit="folder"):
        rows = []
        for f in sorted(folder.glob("*.json")):
            try:
                text = f.read_text(encoding="utf-8")
                obj = json.loads(text)
            except (UnicodeDecodeError, ValueError) as e:
                skips.skip(str(f), f.stem, "bad_json", str(e))
                counts["invalid"] += 1
                continue
            row = _row(f.stem, obj, text)
            counts["normalized" if row.get("reason") == "normalized" else row["status"]] += 1
            rows.append(row)
        name = "root" if folder == src else folder.name
        write_sidecar(out / f"{name}.parquet", rows, {"source": str(folder), "format": "vlm150m"})
    return counts


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
    """Write `<out_dir>/<folder>/<uid>.json` for every `ok` row; returns counts."""
    out = Path(out_dir)
    counts = {"written": 0, "skipped_invalid": 0}
    for i, sc in enumerate(tqdm(list_sidecars(sidecar_dir), desc="export vlm150m", unit="sidecar")):
        folder = out / ("" if sc.stem == "root" else _folder_name(sc, i))
        for row in read_sidecar(sc):
            if row["status"] != "ok":
                counts["skipped_invalid"] += 1
                continue
            obj = {f: row[f] for f in FIELDS}
            if row.get("extra"):
                obj.update(json.loads(row["extra"]))
            _write(folder / f"{row['uid']}.json", json.dumps(obj, ensure_ascii=False))
            counts["written"] += 1
    return counts
