"""Everything that configures a `hqclip distill` run but the prompt (which comes from refine's own
RefineConfig fields, so the student is trained on exactly the prompt refine will send it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

LORA_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"  # the language model's


@dataclass
class DistillConfig:
    epochs: float = field(default=3.0, metadata={"help": "passes over the training records"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (> 0)"})
    batch_size: int = field(default=8, metadata={"help": "records per device per step"})
    grad_accum: int = field(default=1, metadata={"help": "steps whose gradients are summed per update"})
    learning_rate: float | None = field(
        default=None, metadata={"help": "peak learning rate (default: 1e-5 full, 2e-4 with --lora)"}
    )
    scheduler: str = field(
        default="cosine", metadata={"help": "learning-rate schedule: cosine | linear | constant | ..."}
    )
    warmup: float = field(default=0.03, metadata={"help": "warm-up share of the steps"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    lora: bool = field(
        default=False, metadata={"help": "train LoRA adapters (peft) and merge them at the end"}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scale numerator"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA path"})
    lora_targets: str = field(
        default=LORA_TARGETS, metadata={"help": "comma-separated module names that get adapters"}
    )
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision (GPU)"})
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "recompute activations: less memory, ~30 % slower"}
    )
    min_pixels: int | None = field(
        default=None,
        metadata={
            "help": "image size bounds in pixels, saved with the processor so refine sees the "
            "resolution training saw (Qwen2-VL family; default: the base's)"
        },
    )
    max_pixels: int | None = field(default=None, metadata={"help": "see --min-pixels"})
    val_fraction: float = field(
        default=0.05, metadata={"help": "share of records held out for the validation loss"}
    )
    min_records: int = field(default=100, metadata={"help": "refuse to train on fewer valid teacher records"})
    save_steps: int = field(default=200, metadata={"help": "checkpoint (and validate) every N steps"})
    logging_steps: int = field(default=10, metadata={"help": "log the loss every N steps"})
    seed: int = field(default=0, metadata={"help": "initialisation, data order and validation split"})

    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if self.lora else 1e-5

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
