"""The training configuration: one dataclass shared by `hqclip train` and `hqclip.train.run`. Each
field's help is the `hqclip train` option's help (`hqclip.cli.options` builds the options from it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrainConfig:
    train_data: str = field(
        metadata={
            "help": "world folder, shard folder, .tar or brace pattern; or what refine reads: a caption "
            "table (csv/parquet/jsonl) or a folder of them, a folder of images with .txt captions (or "
            "of such folders)"
        }
    )
    output: str = field(metadata={"help": "run folder (checkpoints/, metrics.jsonl, tensorboard/)"})
    sidecars: str | None = field(
        default=None, metadata={"help": "annotation sidecar folder (default: <world>/sidecars)"}
    )
    model: str = field(
        default="hqclip-tiny",
        metadata={"help": "any open_clip model name; tiny CPU ones: hqclip-tiny, hqclip-micro"},
    )
    pretrained: str | None = field(
        default=None,
        metadata={
            "help": "fine-tune from: an open_clip pretrained tag of --model, a checkpoint path, or "
            "hf-hub:ORG/NAME (architecture and weights from the hub; --model is then not used) "
            "(default: random init)"
        },
    )
    batch_size: int = field(default=64, metadata={"help": "per process"})
    epochs: int = 1
    steps: int | None = field(default=None, metadata={"help": "total steps (overrides --epochs)"})
    train_num_samples: int | None = field(
        default=None, metadata={"help": "samples per epoch (default: counted from the shards)"}
    )
    resampled: bool = field(default=False, metadata={"help": "draw shards with replacement"})
    workers: int = field(default=2, metadata={"help": "data loader processes per rank"})
    cache: bool = field(
        default=False,
        metadata={
            "help": "with --workers 0: keep decoded samples and token ids in RAM across epochs (a dataset "
            "that fits in memory)"
        },
    )
    shuffle_buffer: int = 1000
    lr: float = 5e-4
    wd: float = 0.1
    beta1: float = field(default=0.9, metadata={"help": "AdamW beta1"})
    beta2: float | None = field(
        default=None,
        metadata={
            "help": "AdamW beta2 (default: by model family, as open_clip: 0.98 for a ViT, 0.999 for a ResNet)"
        },
    )
    eps: float | None = field(
        default=None,
        metadata={
            "help": "AdamW epsilon (default: by model family, as open_clip: 1e-6 for a ViT, 1e-8 for a "
            "ResNet)"
        },
    )
    warmup: int = field(default=100, metadata={"help": "warm-up steps of the cosine schedule"})
    grad_clip_norm: float | None = None
    precision: str = field(
        default="auto", metadata={"help": "auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16"}
    )
    grad_checkpointing: bool = field(
        default=False, metadata={"help": "recompute activations in backward: ~10x less activation memory"}
    )
    local_loss: bool = field(default=True, metadata={"help": "open_clip --local-loss"})
    gather_with_grad: bool = field(
        default=True,
        metadata={"help": "open_clip --gather-with-grad (required with several processes: exact gradients)"},
    )
    hni_weight: float = field(
        default=1.0, metadata={"help": "hard-negative (negative description) loss weight"}
    )
    stc_weight: float = field(default=1.0, metadata={"help": "short-tag classification loss weight"})
    # linear measured better than text (README, quickstart)
    stc_head: str = field(
        default="linear",
        metadata={"help": "linear (fixed tag vocabulary) | text (tags through the text tower)"},
    )
    vocab_size: int = field(default=1000, metadata={"help": "linear head: most frequent tags kept"})
    text_mix: dict[str, float] = field(
        default_factory=lambda: {"alt": 0.3, "desc": 0.7},
        metadata={"help": "positive text source probabilities"},
    )
    neg_swap: str = field(default="1", metadata={"help": "sentences swapped for their negatives: k or 'all'"})
    alt_neg: bool = field(
        default=False,
        metadata={
            "help": "HNI negative of an alt-text positive: the alt-text with a tag it names swapped for its "
            "negative tag (else the description's)"
        },
    )
    max_tags: int = field(default=2, metadata={"help": "tag pairs sampled per image"})
    seed: int = 0
    save_every: int = field(default=500, metadata={"help": "steps between checkpoints (and one at the end)"})
    log_every: int = 10
    resume: str | None = field(default=None, metadata={"help": "'latest' or a checkpoint path"})
    stop_after: int | None = field(
        default=None, metadata={"help": "exit with a checkpoint after this step, e.g. before a time limit"}
    )
    progress: bool = field(default=True, metadata={"help": "progress bar"})
    lock_image: bool = field(default=False, metadata={"help": "freeze the image tower (LiT), as open_clip"})
    lock_image_unlocked_groups: int = field(
        default=0, metadata={"help": "with --lock-image: leave the last N image layer groups trainable"}
    )
    lock_image_freeze_bn_stats: bool = field(
        default=False,
        metadata={"help": "with --lock-image: freeze the BatchNorm statistics of locked layers"},
    )
    lock_text: bool = field(
        default=False, metadata={"help": "freeze the text tower (open_clip's native one or a HF one)"}
    )
    lock_text_unlocked_layers: int = field(
        default=0,
        metadata={
            "help": "with --lock-text: leave the last N text layer groups trainable (native tower: "
            "projection; last block + ln_final; each block before; token + positional embedding)"
        },
    )
    lock_text_freeze_layer_norm: bool = field(
        default=False, metadata={"help": "with --lock-text: freeze the LayerNorms of locked layers too"}
    )
    eval_every: int | None = field(
        default=None,
        metadata={"help": "evaluate on --eval-data at step 0, every N steps and at the end (rank 0)"},
    )
    eval_data: str | None = field(
        default=None,
        metadata={
            "help": "what `hqclip eval --input` reads (a world or eval folder), or a CLIP_benchmark "
            "wds folder (test/nshards.txt)"
        },
    )
    device: str = field(
        default="auto",
        metadata={
            "help": "auto (the rank's GPU if CUDA is usable, else CPU; several torchrun processes need a "
            "GPU or --device cpu) | cuda | cpu"
        },
    )
    compile: bool = field(
        default=False,
        metadata={
            "help": "torch.compile the model (as open_clip's --torchcompile); the first steps compile "
            "(benchmarks/gpu.py measures what it buys)"
        },
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
