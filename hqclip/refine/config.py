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
class OpenAIOptions:
    """The openai backend's `options` and their defaults, for the backend, its preflight and the CLI."""

    endpoints: list[str] = field(default_factory=list)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 32  # requests in flight
    timeout: float = 120.0  # seconds per request
    retries: int = 5  # on 429/5xx/timeouts, with exponential backoff
    backoff: float = 1.0  # seconds before the first retry

    @classmethod
    def of(cls, options: dict[str, Any]) -> OpenAIOptions:
        """The openai ones of a config's `options`; a missing or None one is its default."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names and v is not None})


@dataclass
class RefineConfig:
    backend: str = field(
        default="auto",
        metadata={
            "help":  # "auto" is resolved by `preflight`
            "auto (the oracle on a world, else asks you to choose) | oracle | transformers | openai | vllm"
        },
    )
    model: str | None = field(
        default=None, metadata={"help": "HF name/path (transformers, vllm) or served model name (openai)"}
    )
    # backend-specific: device, dtype, oracle knobs, and for openai `OpenAIOptions`' fields
    options: dict[str, Any] = field(default_factory=dict)
    # sampling
    temperature: float = 0.2
    top_p: float = 1.0
    max_tokens: int = field(
        default=1024, metadata={"help": "generation limit; hitting it is a failed attempt"}
    )
    seed: int = field(default=0, metadata={"help": "sampling seed (and with --sample, which samples)"})
    # prompt and answer shape
    no_image: bool = field(
        default=False, metadata={"help": "text-only: rewrite the alt-text with a text LLM (LaCLIP style)"}
    )
    prompt_file: str | None = field(
        default=None,
        metadata={"help": "prompt template file ({alt_text}, {examples} slots) instead of the packaged one"},
    )
    examples_file: str | None = field(
        default=None, metadata={"help": "few-shot examples JSON [{alt_text, record}]"}
    )
    few_shot: int = field(default=2, metadata={"help": "how many few-shot examples go into the prompt"})
    max_items: int | None = field(
        default=None, metadata={"help": "tighter maxItems for constrained decoding"}
    )
    max_chars: int | None = field(
        default=None, metadata={"help": "tighter string maxLength for constrained decoding"}
    )
    pairs: int | None = field(
        default=None,
        metadata={
            "help": "every list exactly this long in constrained decoding, so a weak model's pairs "
            "stay aligned"
        },
    )
    salvage: bool = field(
        default=True,
        metadata={
            "help": "keep the valid aligned pairs of a partly invalid answer (the dropped ones are named "
            "in the `dropped` column)"
        },
    )
    sample: int | None = field(
        default=None,
        metadata={
            "help": "refine only about N samples drawn at random (by --seed) across all shards: a seed "
            "set for a costly teacher (hqclip distill)"
        },
    )
    # pipeline
    max_retries: int = field(default=2, metadata={"help": "retries of a sample whose answer is invalid"})
    batch_size: int = field(
        default=16,
        metadata={
            "help": "samples per backend call (openai: at least --concurrency, so every request slot is used)"
        },
    )
    max_pixels: int = field(
        default=DEFAULT_MAX_PIXELS, metadata={"help": "larger images are skipped as invalid rows"}
    )
    raw_chars: int = field(
        default=2000, metadata={"help": "how much of an invalid answer the sidecar keeps for debugging"}
    )

    def __post_init__(self) -> None:
        if self.backend == "openai":  # a smaller batch would leave request slots idle
            self.batch_size = max(self.batch_size, OpenAIOptions.of(self.options).concurrency)

    def prompt(self) -> Prompt:
        return load_prompt(
            self.prompt_file,
            text_only=self.no_image,
            few_shot=self.few_shot,
            examples_path=self.examples_file,
        )

    def schema(self) -> dict[str, Any]:
        return decode_schema(self.max_items, self.max_chars, self.pairs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RefineConfig:
        return cls(**d)
