"""The versioned instruction the LVLM gets, and the JSON schema its answer is constrained to.

The prompt hash (template + few-shot block) is stored with every sidecar row and is part of the
run fingerprint, so a changed prompt never resumes into rows made with the old one.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from hqclip.errors import UserError
from hqclip.schema import FIELDS, RECORD_JSON_SCHEMA

PROMPT_VERSION = "v2"
MAX_ALT_CHARS = 1000  # web alt-text can be a whole page; the model needs only its head


def _package_text(name: str) -> str:
    return resources.files("hqclip.refine").joinpath("prompts", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Prompt:
    """A template with `{alt_text}` and `{examples}` slots, and its rendered few-shot block."""

    template: str
    examples: str
    name: str

    @functools.cached_property
    def hash(self) -> str:
        return hashlib.sha256((self.template + "\0" + self.examples).encode()).hexdigest()[:16]

    def render(self, alt_text: str) -> str:
        alt = " ".join(alt_text.split())[:MAX_ALT_CHARS] or "(none)"
        # str.replace, not str.format: templates and examples contain JSON braces
        return self.template.replace("{examples}", self.examples).replace("{alt_text}", alt)


def answer_text(record: dict[str, Any]) -> str:
    """A record as the model should answer it: JSON in the schema's key order with json.dumps'
    separators, the form constrained decoding emits (xgrammar without free whitespace) — the
    few-shot answers and `hqclip distill`'s targets."""
    return json.dumps({f: record[f] for f in FIELDS}, ensure_ascii=False)


def user_turn(prompt_text: str, with_image: bool) -> list[dict[str, Any]]:
    """The chat a local model gets for one sample (Hugging Face content parts: the image first,
    then the rendered prompt, one user turn, no system message): the transformers backend applies
    the processor's chat template to it, and `hqclip distill` trains on exactly this prompt."""
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": prompt_text})
    return [{"role": "user", "content": content}]


def _examples_block(examples: list[dict[str, Any]]) -> str:
    if not examples:
        return ""
    lines = ["", "Examples:"]
    for ex in examples:
        lines.append(f"Alt-text: {ex['alt_text']}")
        lines.append("Answer: " + answer_text(ex["record"]))
    return "\n".join(lines) + "\n"


def load_prompt(
    path: str | Path | None = None,
    text_only: bool = False,
    few_shot: int = 2,
    examples_path: str | Path | None = None,
) -> Prompt:
    """The packaged template (image or text-only mode) unless `path` overrides it; the first
    `few_shot` examples of the packaged set unless `examples_path` names a JSON list of
    `{"alt_text": ..., "record": {...}}`."""
    if path is not None:
        template, name = _user_file(path, "--prompt"), str(path)
    else:
        name = f"{PROMPT_VERSION}-text.txt" if text_only else f"{PROMPT_VERSION}.txt"
        template = _package_text(name)
    if "{alt_text}" not in template:
        raise UserError(f"--prompt {name}: a prompt template needs an {{alt_text}} slot")
    raw = _user_file(examples_path, "--examples") if examples_path else _package_text("examples.json")
    try:  # a template without an {examples} slot takes no examples
        examples = json.loads(raw)[: max(few_shot, 0)] if "{examples}" in template else []
    except ValueError as e:
        raise UserError(f"--examples {examples_path}: not JSON ({e})") from None
    return Prompt(template=template, examples=_examples_block(examples), name=name)


def _user_file(path: str | Path, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"{flag} {path}: {e.strerror or e}") from None


def decode_schema(
    max_items: int | None = None, max_chars: int | None = None, pairs: int | None = None
) -> dict[str, Any]:
    """RECORD_JSON_SCHEMA, optionally tightened (fewer items, shorter strings) for constrained
    decoding: shorter answers for small models and tests. A tightened answer is still valid.
    `pairs` fixes every list at that many items: a JSON schema cannot say "as long as desc", so
    this is how constrained decoding keeps a weak model's lists aligned (salvage then drops the
    bad pairs; misaligned lists could only be thrown away)."""
    schema = copy.deepcopy(RECORD_JSON_SCHEMA)
    for prop in schema["properties"].values():
        if max_items is not None:
            prop["maxItems"] = min(prop["maxItems"], max_items)
        if pairs is not None:
            prop["minItems"] = prop["maxItems"] = min(prop["maxItems"], pairs)
        if max_chars is not None:
            prop["items"]["maxLength"] = min(prop["items"]["maxLength"], max_chars)
    return schema
