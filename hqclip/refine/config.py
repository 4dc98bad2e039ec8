"""Everything that configures a refine run, as one plain, picklable dataclass.

Ray tasks receive it as a dict and build their own backend from it; the fields that decide what
the model writes (see `resume.fingerprint`) are kept apart from throughput knobs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hqclip.data.samples import DEFAULT_MAX_PIXELS
from hqclip.refine.prompt import Prompt, decode_schema, load_prompt


@dataclass
class RefineConfig:
    backend: str = "auto"  # "auto": the oracle on world input, else refused (`preflight`)
    model: str | None = None
    # backend-specific: endpoints, api_key_env, concurrency, device, dtype, oracle knobs, ...
    options: dict[str, Any] = field(default_factory=dict)
    # sampling
    temperature: float = 0.2
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int = 0
    # prompt and answer shape
    no_image: bool = False
    prompt_file: str | None = None
    examples_file: str | None = None
    few_shot: int = 2
    max_items: int | None = None
    max_chars: int | None = None
    pairs: int | None = None  # every list exactly this long: decoding keeps the pairs aligned
    salvage: bool = True  # keep an answer's valid aligned pairs, drop (and record) the others
    # pipeline
    max_retries: int = 2
    batch_size: int = 16
    max_pixels: int = DEFAULT_MAX_PIXELS
    raw_chars: int = 2000  # how much of an invalid answer the sidecar keeps for debugging

    def prompt(self) -> Prompt:
        return load_prompt(self.prompt_file, text_only=self.no_image, few_shot=self.few_shot,
                           examples_path=self.examples_file)

    def schema(self) -> dict[str, Any]:
        return decode_schema(self.max_items, self.max_chars, self.pairs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RefineConfig":
        return cls(**d)
