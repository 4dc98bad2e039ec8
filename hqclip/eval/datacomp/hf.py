"""The three Hugging Face sets (nlphuji's Flickr 1k test, MSCOCO 5k test, WinoGAViL) read from
their repository files, without the dataset loading script that `datasets` >= 4 refuses to run:
one CSV of rows plus the images, in zip archives or as files, found by file name.

Retrieval rows: `filename` and the captions in `caption` or `raw` (a JSON or Python list, five per
image; rows of another `split` than test are dropped). WinoGAViL rows: `cue`, `candidates` and
`associations` (lists), the candidate images named `<candidate>.<ext>`. The rows are what the
loading scripts yield as `caption` / `candidates` / `associations` (notes/datacomp-38.md §3-4)."""

from __future__ import annotations

import ast
import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hqclip.data.samples import IMAGE_EXTS
from hqclip.errors import UserError
from hqclip.eval.datacomp.tasks import RETRIEVAL, WINOGAVIL, Task

IMAGE_SUFFIXES = tuple(f".{e}" for e in IMAGE_EXTS)  # the image files data's readers take
COLUMNS = {RETRIEVAL: ("filename",), WINOGAVIL: ("cue", "candidates", "associations")}


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f), [])


def _missing(kind: str, header: list[str]) -> list[str]:
    need = COLUMNS[kind] + (() if kind != RETRIEVAL or "raw" in header else ("caption",))
    return [c for c in need if c not in header]


def _table(folder: Path, kind: str) -> Path | None:
    """The first CSV (by path) with the columns `kind` reads."""
    return next((p for p in sorted(folder.rglob("*.csv")) if not _missing(kind, _header(p))), None)


def as_list(cell: str) -> list[str]:
    """A list cell as the loading scripts parse it (JSON, else a Python literal); a plain string
    is a list of one."""
    for parse in (json.loads, ast.literal_eval):
        try:
            v = parse(cell)
        except (ValueError, SyntaxError):
            continue
        if isinstance(v, list):
            return [str(x) for x in v]
    return [cell]


def problem(task: Task, folder: Path) -> str | None:
    if _table(folder, task.kind) is None:
        tables = sorted(folder.rglob("*.csv"))
        if not tables:
            return "no .csv of rows"
        return f"{tables[0].name} has no column {_missing(task.kind, _header(tables[0]))[0]!r}"
    if not image_index(folder):
        return "no images (zip archives or image files)"
    return None


def image_index(folder: Path) -> dict[str, tuple[str | None, str]]:
    """File name and stem -> (zip archive or None, member or path) of every image in `folder`."""
    index: dict[str, tuple[str | None, str]] = {}

    def add(name: str, ref: tuple[str | None, str]) -> None:
        base = name.rsplit("/", 1)[-1]
        index.setdefault(base, ref)
        index.setdefault(base.rsplit(".", 1)[0], ref)

    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            add(path.name, (None, str(path)))
        elif path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.lower().endswith(IMAGE_SUFFIXES):
                        add(name, (str(path), name))
    return index


def _rows(folder: Path, kind: str) -> list[dict]:
    with open(_table(folder, kind), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r.get("split", "test") in ("test", "")]


@dataclass
class RetrievalSet:
    images: list[tuple[str | None, str]]  # one per row
    captions: list[list[str]]


@dataclass
class WinoGAViLSet:
    cues: list[str]
    candidates: list[list[str]]
    associations: list[list[str]]
    images: dict[str, tuple[str | None, str]]  # candidate -> image


def _lookup(index: dict, name: str, folder: Path) -> tuple[str | None, str]:
    ref = index.get(name) or index.get(name.rsplit("/", 1)[-1])
    if ref is None:
        raise UserError(f"{folder}: no image {name!r} named by its CSV; fetch the set again")
    return ref


def read_retrieval(folder: Path) -> RetrievalSet:
    index, rows = image_index(folder), _rows(folder, RETRIEVAL)
    return RetrievalSet(
        [_lookup(index, r["filename"], folder) for r in rows],
        [as_list(r["raw"] if "raw" in r else r["caption"]) for r in rows],
    )


def read_winogavil(folder: Path) -> WinoGAViLSet:
    index, rows = image_index(folder), _rows(folder, WINOGAVIL)
    candidates = [as_list(r["candidates"]) for r in rows]
    names = dict.fromkeys(c for cs in candidates for c in cs)
    return WinoGAViLSet(
        [r["cue"] for r in rows],
        candidates,
        [as_list(r["associations"]) for r in rows],
        {c: _lookup(index, c, folder) for c in names},
    )


class Images:
    """Map-style dataset of transformed images by reference, decoded in DataLoader workers (each
    opens the zip archives it needs once)."""

    def __init__(self, refs: list[tuple[str | None, str]], preprocess):
        self.refs, self.preprocess, self._zips = refs, preprocess, {}

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int):
        """(image, None), or (None, "<where>: <reason>") for an image that does not decode."""
        from hqclip.data.samples import BadSample, decode_image

        archive, name = self.refs[i]
        try:
            if archive is None:
                data = Path(name).read_bytes()
            else:
                if archive not in self._zips:
                    self._zips[archive] = zipfile.ZipFile(archive)
                data = self._zips[archive].read(name)
            return self.preprocess(decode_image(data)), None
        except (BadSample, OSError, KeyError, zipfile.BadZipFile) as e:
            return None, f"{archive or ''}:{name}: {getattr(e, 'reason', e)}"


def collate(batch: list) -> dict:
    import torch

    bad = [err for _, err in batch if err]
    return {"error": bad[0]} if bad else {"images": torch.stack([x for x, _ in batch])}
