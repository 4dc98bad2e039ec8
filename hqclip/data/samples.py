"""One image-text sample as every reader yields it, and the per-reason skip log for bad input."""

from __future__ import annotations

import collections
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

log = logging.getLogger("hqclip.data")

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
# Pillow's own default bomb threshold; readers take `max_pixels` to change it.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

# What a user can do about each skip reason; printed with the first skip of each reason.
HINTS = {
    "missing_image": "the sample has no jpg/png/webp member; check the writer",
    "missing_caption": "the sample has no txt member (an empty txt is fine)",
    "undecodable_image": "the image bytes are not a readable image; re-download the sample",
    "truncated_image": "the image file is cut short; re-download the sample",
    "decompression_bomb": "the image exceeds max_pixels; raise --max-pixels if you trust it",
    "non_utf8_text": "the caption is not UTF-8; re-encode it",
    "bad_json": "the sample's json is not a JSON object",
    "duplicate_member": "the tar holds two members with one name in a row; the rest of it is unread",
    "truncated_shard": "the tar ends mid-member; samples before the cut were read",
    "unreadable_shard": "the file is not a tar archive",
}


@dataclass
class Sample:
    """An image-text pair. `image` is decoded RGB when the reader decodes, else None. A sample read
    from a tar spans bytes `offset`..`end` of it (a reader can restart at either)."""

    key: str
    uid: str
    text: str
    image_bytes: bytes
    ext: str
    meta: dict[str, Any]
    source: str
    image: Image.Image | None = None
    offset: int = 0
    end: int = 0


class BadSample(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def derived_uid(source: str, key: str) -> str:
    """A deterministic 128-bit hex uid (DataComp's format) for a sample that has none."""
    return hashlib.md5(f"{source}/{key}".encode()).hexdigest()


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode to RGB, refusing images over `max_pixels` before their pixels are allocated."""
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise BadSample("decompression_bomb", str(e)) from e
    except Exception as e:
        raise BadSample("undecodable_image", str(e)) from e
    w, h = img.size
    if w * h > max_pixels:
        raise BadSample("decompression_bomb", f"{w}x{h} > {max_pixels} pixels")
    try:
        img.load()
    except OSError as e:
        reason = "truncated_image" if "truncated" in str(e).lower() else "undecodable_image"
        raise BadSample(reason, str(e)) from e
    except Exception as e:
        raise BadSample("undecodable_image", str(e)) from e
    return img if img.mode == "RGB" else img.convert("RGB")


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadSample("non_utf8_text", str(e)) from e


def decode_meta(data: bytes | None) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        meta = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadSample("bad_json", str(e)) from e
    if not isinstance(meta, dict):
        raise BadSample("bad_json", "not an object")
    return meta


@dataclass
class SkipLog:
    """Counts skipped samples per reason and names each one (source, key) in a log line."""

    counts: collections.Counter = field(default_factory=collections.Counter)

    def skip(self, source: str, key: str, reason: str, detail: str = "") -> None:
        first = self.counts[reason] == 0
        self.counts[reason] += 1
        hint = f" — {HINTS[reason]}" if first and reason in HINTS else ""
        log.warning(
            "%s: sample %s skipped (%s%s)%s", source, key, reason, f": {detail[:200]}" if detail else "", hint
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))
