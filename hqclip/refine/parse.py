"""Untrusted model text → a normalised, validated record, or the reason it is not one.

Reasons (stable strings, counted in the run stats) are the validator's (`hqclip.schema.check`)
plus: `empty_output`, `output_too_large`, `length` (the generation hit its token limit),
`refusal`, `truncated_json`, `not_json`. With salvage, an answer whose only faults are in some
aligned pairs keeps its good pairs; the dropped ones come back named (`reason@i`).
"""

from __future__ import annotations

import json
import re

from hqclip.schema import Record, check, normalize

MAX_RAW_CHARS = 64_000  # far above any valid record (16×400×2 + 32×64×2 chars); caps parse cost
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry|i can(no|')t|i am unable|i'?m unable|i apologi[sz]e|"
    r"as an ai|unfortunately)",
    re.IGNORECASE,
)
# strict=False: raw control characters inside strings parse, so the validator can name them
_decoder = json.JSONDecoder(strict=False)


def _unclosed(text: str) -> bool:
    """True when the text ends inside a string or an open object/array: a cut-off answer."""
    depth, in_str, esc = 0, False, False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
    return in_str or depth > 0


Parsed = tuple[Record | None, str | None, list[str]]


def parse(raw: str | None, finish_reason: str | None = None, salvage: bool = False) -> Parsed:
    """(record, None, dropped) for a valid (or, with `salvage`, salvaged) answer, else
    (None, reason, dropped); `dropped` names the pairs salvage removed."""
    if raw is None or not raw.strip():
        return None, "empty_output", []
    if len(raw) > MAX_RAW_CHARS:
        return None, "output_too_large", []
    if finish_reason == "length":
        return None, "length", []
    text = _FENCE.sub("", raw.strip())
    start = text.find("{")
    if start < 0:
        return None, "refusal" if _REFUSAL.match(text) else "not_json", []
    try:
        obj, _ = _decoder.raw_decode(text, start)  # trailing chatter after the object is ignored
    except json.JSONDecodeError:
        if _REFUSAL.match(text):
            return None, "refusal", []
        return None, "truncated_json" if _unclosed(text[start:]) else "not_json", []
    rec, reason, dropped = check(normalize(obj), salvage=salvage)
    return (rec, None, dropped) if reason is None else (None, reason, dropped)
