"""The one place that turns (alt-text, annotation) into the texts a training sample uses.

Positive: alt-text or the long description (`" ".join(desc)`), drawn by `text_mix`.
Negative (for HNI): the same description with `neg_swap` sentences replaced by their aligned
`neg_desc` — a minimal edit of a true description. It is built from the description even when
the alt-text is the positive: it still describes the image wrongly, so it stays a hard negative
for that image. With `alt_neg`, an alt-text positive gets a negative in its own form instead: the
alt-text with one tag it names (whole words, plural allowed) replaced by that tag's aligned negative
tag, so the pair differs minimally as the design asks; an alt-text that names no tag keeps the
description's negative. Without an annotation there is no negative (the loss masks that column)
and no tags.
Tags: up to `max_tags` aligned (tag, neg_tag) pairs drawn without replacement.
"""

from __future__ import annotations

import random
import re

from hqclip.errors import UserError
from hqclip.schema import Record

TEXT_SOURCES = ("alt", "desc")


def parse_text_mix(spec: str | dict[str, float]) -> dict[str, float]:
    """`"alt=0.3,desc=0.7"` → `{"alt": 0.3, "desc": 0.7}` (normalised to sum 1)."""
    try:
        weights = (
            dict(_pair(item) for item in spec.split(",") if item.strip()) if isinstance(spec, str) else spec
        )
    except ValueError:
        weights = {}
    unknown = set(weights) - set(TEXT_SOURCES)
    if unknown or not weights or any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise UserError(
            f"--text-mix {spec!r}: give non-negative weights for {TEXT_SOURCES}, e.g. alt=0.3,desc=0.7"
        )
    total = sum(weights.values())
    return {s: weights.get(s, 0.0) / total for s in TEXT_SOURCES}


def _pair(item: str) -> tuple[str, float]:
    name, _, value = item.partition("=")
    return name.strip(), float(value)


def parse_neg_swap(spec: str | int) -> int | None:
    """`"all"` → None (swap every sentence); `"2"` → 2."""
    if str(spec).strip().lower() == "all":
        return None
    try:
        k = int(spec)
    except ValueError:
        k = 0
    if k < 1:
        raise UserError(f"--neg-swap {spec!r}: a positive integer or 'all'")
    return k


def alt_negative(alt_text: str, record: Record, rng: random.Random) -> str | None:
    """The alt-text with one tag it names swapped for its negative tag (case kept), or None."""
    found = [
        (m, neg)
        for tag, neg in zip(record["tags"], record["neg_tags"])
        if (m := re.search(rf"\b{re.escape(tag)}(s?)\b", alt_text, re.IGNORECASE))
    ]
    if not found:
        return None
    m, neg = rng.choice(found)
    said = m.group(0)
    neg = neg.upper() if said.isupper() else neg.title() if said.istitle() else neg
    return alt_text[: m.start()] + neg + m.group(1) + alt_text[m.end() :]


def sample_texts(
    alt_text: str,
    record: Record | None,
    rng: random.Random,
    text_mix: dict[str, float],
    neg_swap: int | None,
    max_tags: int = 4,
    alt_neg: bool = False,
) -> tuple[str, str | None, list[str], list[str]]:
    """(positive, negative or None, tags, neg_tags) for one sample; deterministic given `rng`."""
    if record is None:
        return alt_text, None, [], []
    desc, neg_desc = record["desc"], record["neg_desc"]
    use_alt = rng.random() < text_mix["alt"] and alt_text.strip() != ""
    n = len(desc)
    k = n if neg_swap is None else min(neg_swap, n)
    swap = set(rng.sample(range(n), k))
    negative = " ".join(neg_desc[i] if i in swap else desc[i] for i in range(n))
    picks = rng.sample(range(len(record["tags"])), min(max_tags, len(record["tags"])))
    tags = [record["tags"][i] for i in picks]
    neg_tags = [record["neg_tags"][i] for i in picks]
    if use_alt and alt_neg:
        negative = alt_negative(alt_text, record, rng) or negative
    return (alt_text if use_alt else " ".join(desc)), negative, tags, neg_tags
