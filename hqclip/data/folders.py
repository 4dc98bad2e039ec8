"""A folder of images with a caption file beside each, read as Samples: `<key>.jpg|jpeg|png|webp`,
`<key>.txt` (the caption) and optionally `<key>.json` (with `uid`) — img2dataset's `files` output
format, whose numbered subfolders are each one such folder. Images are taken in name order; a
sample's position is its index in that order, so a reader can restart at any image."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from hqclip.data.samples import DEFAULT_MAX_PIXELS, IMAGE_EXTS, BadSample, Sample, SkipLog
from hqclip.data.shards import to_sample


def images_in(folder: Path) -> list[Path]:
    """The folder's image files (not its subfolders'), in name order."""
    with os.scandir(folder) as entries:
        return sorted(
            Path(e.path) for e in entries if e.is_file() and e.name.rpartition(".")[2].lower() in IMAGE_EXTS
        )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def iter_folder(
    folder: str | os.PathLike,
    skips: SkipLog | None = None,
    decode: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    start: int = 0,
) -> Iterator[Sample]:
    """The good samples from image `start` on; an image without its `.txt`, or one that does not
    decode, is skipped and named."""
    folder = Path(folder)
    skips = skips if skips is not None else SkipLog()
    source = str(folder)
    for n, file in enumerate(images_in(folder)[start:], start):
        key = file.stem
        try:
            text = _read(file.with_suffix(".txt"))
            if text is None:
                raise BadSample("missing_caption", f"no {key}.txt beside {file.name}")
            # the members a tar would hold for this sample, at position n
            raw = {
                "__key__": key,
                "__offset__": n,
                "__end__": n + 1,
                file.suffix.lstrip(".").lower(): file.read_bytes(),
                "txt": text,
                "json": _read(file.with_suffix(".json")),
            }
            sample = to_sample(raw, source, decode, max_pixels)
        except BadSample as e:
            skips.skip(source, key, e.reason, e.detail)
            continue
        yield sample
