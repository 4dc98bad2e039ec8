"""Read eval splits in the world's JSON formats (zero-shot, retrieval, SugarCrepe, Winoground) from
any folder. Bad entries and missing images are skipped, counted and named (file, entry)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hqclip.data.samples import SkipLog
from hqclip.errors import UserError

log = logging.getLogger("hqclip.eval")

SUGARCREPE_SUBSETS = ("replace_att", "replace_obj", "replace_rel", "swap_att", "add_obj")


@dataclass
class Item:
    """One scored unit: its images and texts; `label` for classification. For choice tasks the
    true text is texts[0]; for 2x2 group tasks image i goes with text i."""

    src: str
    entry: str
    images: tuple[Path, ...]
    texts: tuple[str, ...] = ()
    label: int | None = None


@dataclass
class Split:
    """kind: "classification" | "retrieval" | "choice" | "group"; task/name label the report."""

    task: str
    name: str
    kind: str
    items: list[Item]
    classnames: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)  # classes never seen in training (the world's)


@dataclass
class Skips(SkipLog):
    """SkipLog that also keeps the named entries for the JSON report."""

    items: list[dict] = field(default_factory=list)

    def skip(self, source: str, key: str, reason: str, detail: str = "") -> None:
        super().skip(source, key, reason, detail)
        self.items.append({"file": source, "entry": key, "reason": reason, "detail": detail[:200]})


class _Bad(Exception):
    pass


def eval_dir(root: str | Path) -> Path:
    """A world folder (has eval/) or the eval folder itself."""
    root = Path(root)
    return root / "eval" if (root / "eval").is_dir() else root


def _read_json(path: Path, skips: Skips) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        skips.skip(str(path), "*", "bad_json", str(e))
        return None


def _str(entry: dict, key: str) -> str:
    v = entry.get(key)
    if not isinstance(v, str) or not v:
        raise _Bad(f"{key!r} must be a non-empty string")
    return v


def _image(path: Path, entry: dict, key: str) -> Path:
    p = path.parent / _str(entry, key)
    if not p.is_file():
        raise FileNotFoundError(str(p))
    return p


def _entries(path: Path, data: Any, skips: Skips, make) -> list[Item]:
    """Run `make(entry_id, entry)` over a JSON list or id->entry object, skipping what fails."""
    if isinstance(data, dict):
        pairs: Iterable = data.items()
    elif isinstance(data, list):
        pairs = ((str(e.get("id", i)) if isinstance(e, dict) else str(i), e) for i, e in enumerate(data))
    else:
        skips.skip(str(path), "*", "bad_json", "top level must be a list or an object")
        return []
    items = []
    for key, entry in pairs:
        try:
            if not isinstance(entry, dict):
                raise _Bad("entry must be an object")
            items.append(make(str(key), entry))
        except _Bad as e:
            skips.skip(str(path), str(key), "malformed_entry", str(e))
        except FileNotFoundError as e:
            skips.skip(str(path), str(key), "image_not_found", str(e))
    return items


def zeroshot(folder: Path, skips: Skips) -> list[Split]:
    classes_path, samples_path = folder / "classes.json", folder / "samples.json"
    if not (classes_path.is_file() and samples_path.is_file()):
        return []
    classes = _read_json(classes_path, skips)
    names = classes.get("classnames") if isinstance(classes, dict) else None
    templates = classes.get("templates", ["{}"]) if isinstance(classes, dict) else None
    if not (
        isinstance(names, list)
        and names
        and all(isinstance(n, str) for n in names)
        and isinstance(templates, list)
        and templates
        and all(isinstance(t, str) and ("{}" in t or "{c}" in t) for t in templates)
    ):
        if classes is not None:
            skips.skip(
                str(classes_path),
                "*",
                "bad_json",
                "needs 'classnames' (strings) and 'templates' (strings with '{}')",
            )
        return []
    data = _read_json(samples_path, skips)

    def make(key: str, e: dict) -> Item:
        label = e.get("label")
        if type(label) is not int or not 0 <= label < len(names):
            raise _Bad(f"'label' must be an integer in [0, {len(names)})")
        return Item(str(samples_path), key, (_image(samples_path, e, "filename"),), label=label)

    items = _entries(samples_path, data, skips, make) if data is not None else []
    heldout = [n for n in classes.get("heldout", []) if n in names]
    return [Split("zeroshot", "zeroshot", "classification", items, names, templates, heldout)]


def retrieval(folder: Path, skips: Skips) -> list[Split]:
    path = folder / "captions.json"
    if not path.is_file() or (data := _read_json(path, skips)) is None:
        return []

    def make(key: str, e: dict) -> Item:
        caps = e.get("captions")
        if not (isinstance(caps, list) and caps and all(isinstance(c, str) and c for c in caps)):
            raise _Bad("'captions' must be a non-empty list of non-empty strings")
        return Item(str(path), key, (_image(path, e, "filename"),), tuple(caps))

    return [Split("retrieval", "retrieval", "retrieval", _entries(path, data, skips, make))]


def sugarcrepe(folder: Path, skips: Skips) -> list[Split]:
    splits = []
    for path in sorted(folder.glob("*.json")):
        if (data := _read_json(path, skips)) is None:
            continue

        def make(key: str, e: dict, path=path) -> Item:
            return Item(
                str(path),
                key,
                (_image(path, e, "filename"),),
                (_str(e, "caption"), _str(e, "negative_caption")),
            )

        splits.append(Split("sugarcrepe", path.stem, "choice", _entries(path, data, skips, make)))
    return splits


def winoground(folder: Path, skips: Skips) -> list[Split]:
    path = folder / "examples.json"
    if not path.is_file() or (data := _read_json(path, skips)) is None:
        return []

    def make(key: str, e: dict) -> Item:
        return Item(
            str(path),
            key,
            (_image(path, e, "image_0"), _image(path, e, "image_1")),
            (_str(e, "caption_0"), _str(e, "caption_1")),
        )

    return [Split("winoground", "winoground", "group", _entries(path, data, skips, make))]


def load_splits(root: str | Path, skips: Skips) -> list[Split]:
    """Every split found under `root` (a world folder or its eval/ folder)."""
    folder = eval_dir(root)
    if not folder.is_dir():
        raise UserError(f"--input {folder}: no such eval folder; run `hqclip world` or pass --input")
    splits = [
        *zeroshot(folder / "zeroshot", skips),
        *retrieval(folder / "retrieval", skips),
        *sugarcrepe(folder / "sugarcrepe", skips),
        *winoground(folder / "winoground", skips),
    ]
    for s in splits:
        log.info("%s/%s: %d entries", s.task, s.name, len(s.items))
    if not splits:
        raise UserError(
            f"--input {folder}: no eval splits found (zeroshot/, retrieval/, sugarcrepe/, "
            f"winoground/ in the formats of the README's Eval section)"
        )
    return splits
