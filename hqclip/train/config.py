"""The training configuration: one dataclass shared by `hqclip train` and `hqclip.train.run`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrainConfig:
    train_data: str                      # world folder, shard folder, tar file or brace pattern
    output: str                          # run folder: checkpoints/, metrics.jsonl, tensorboard/
    sidecars: str | None = None          # folder of annotation sidecars (default: <world>/sidecars)
    model: str = "hqclip-tiny"           # any open_clip model name (tiny ones ship here)
    pretrained: str | None = None        # open_clip tag or checkpoint path; None = random init
    batch_size: int = 64                 # per rank
    epochs: int = 1
    steps: int | None = None             # total steps; overrides epochs
    train_num_samples: int | None = None  # samples per epoch; default: counted from the shards
    resampled: bool = False
    workers: int = 2
    cache: bool = False                  # with workers 0: decoded samples and token ids kept in RAM
    shuffle_buffer: int = 1000
    lr: float = 5e-4
    wd: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    warmup: int = 100
    grad_clip_norm: float | None = None
    precision: str = "auto"              # auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16
    grad_checkpointing: bool = False
    local_loss: bool = True
    gather_with_grad: bool = True
    hni_weight: float = 1.0
    stc_weight: float = 1.0
    stc_head: str = "linear"             # linear | text (linear measured better: README, quickstart)
    vocab_size: int = 1000               # linear head: most frequent tags kept
    text_mix: dict[str, float] = field(default_factory=lambda: {"alt": 0.3, "desc": 0.7})
    neg_swap: str = "1"                  # k sentences swapped, or "all"
    alt_neg: bool = False                # alt-text positives: negative = alt-text with a tag swapped
    max_tags: int = 2
    seed: int = 0
    save_every: int = 500                # steps between checkpoints (and one at the end)
    log_every: int = 10
    resume: str | None = None            # "latest" or a checkpoint path
    stop_after: int | None = None        # exit (with a checkpoint) after this step, e.g. before a time limit
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
