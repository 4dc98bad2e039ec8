"""A rough per-rank memory estimate, said before training starts, so that a batch that cannot fit
the GPU is met in one line instead of an out-of-memory error after the model and loader started.

Activations are scaled from a measurement of ViT-B-16 under bf16 autocast (the bytes saved for
backward, deduplicated by storage, batch 4 minus batch 2; notes/review-gpu.md finding 1): 56.7 MiB
per 224 px image and 16.4 MiB per 77-token text without gradient checkpointing, 4.6 and 2.0 MiB
with it. A tower's bytes grow with tokens × layers × width, so other ViT sizes are scaled by that.
fp32 is counted at twice bf16 (an upper bound: bf16 autocast already keeps the residual stream in
fp32). Texts are counted at the full context length, an upper bound: training trims each text call
to its longest text. Weights, gradients and AdamW's two moments are 16 bytes per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hqclip.errors import UserError

MIB, GIB = 2**20, 2**30
# ViT-B-16's (tokens, layers, width) per tower and its measured MiB per sample
B16_IMAGE, B16_TEXT = (197, 12, 768), (77, 12, 512)
MEASURED = {False: (56.7, 16.4), True: (4.6, 2.0)}  # by grad checkpointing: (image, text)
WARN_AT, REFUSE_AT = 0.9, 1.5  # of the GPU's memory


@dataclass
class Estimate:
    images: int
    texts: int
    image_mib: float
    text_mib: float
    state_gib: float  # weights, gradients, AdamW moments

    @property
    def activations_gib(self) -> float:
        return (self.images * self.image_mib + self.texts * self.text_mib) / 1024

    @property
    def total_gib(self) -> float:
        return self.activations_gib + self.state_gib

    def describe(self, precision: str, grad_checkpointing: bool) -> str:
        ckpt = "with" if grad_checkpointing else "without"
        return (
            f"~{self.total_gib:.1f} GiB per rank: activations ~{self.activations_gib:.1f} GiB "
            f"({self.images} images × {self.image_mib:.1f} MiB + {self.texts} texts × "
            f"{self.text_mib:.1f} MiB, {precision}, {ckpt} grad checkpointing) + "
            f"{self.state_gib:.1f} GiB weights, gradients and AdamW state"
        )


def _units(tokens: int, layers: int, width: int) -> int:
    return tokens * layers * width


def texts_per_image(hni: bool, stc_text_head: bool, max_tags: int) -> int:
    """Text-tower rows per image: its positive, its negative (HNI), its tag pairs (text STC head)."""
    return 1 + int(hni) + (2 * max_tags if stc_text_head else 0)


def estimate(
    config: dict[str, Any], batch_size: int, texts: int, precision: str, grad_checkpointing: bool
) -> Estimate | None:
    """The estimate for an open_clip model config (`hqclip.clip.configs.model_config`) at
    `batch_size` images and `texts` text rows per image; None for a tower that is not a ViT."""
    v, t = config["vision_cfg"], config["text_cfg"]
    if not isinstance(v.get("layers"), int) or not v.get("patch_size") or "width" not in t:
        return None
    image_tokens = (v["image_size"] // v["patch_size"]) ** 2 + 1
    scale = 2.0 if precision == "fp32" else 1.0
    img_mib, txt_mib = MEASURED[grad_checkpointing]
    image_mib = scale * img_mib * _units(image_tokens, v["layers"], v["width"]) / _units(*B16_IMAGE)
    text_mib = scale * txt_mib * _units(t["context_length"], t["layers"], t["width"]) / _units(*B16_TEXT)
    params = (
        12 * (v["layers"] * v["width"] ** 2 + t["layers"] * t["width"] ** 2)
        + 3 * v["patch_size"] ** 2 * v["width"]
        + (t["vocab_size"] + t["context_length"]) * t["width"]
        + config["embed_dim"] * (v["width"] + t["width"])
    )
    return Estimate(batch_size, batch_size * texts, image_mib, text_mib, 16 * params / GIB)


def check_fits(est: Estimate, gpu_gib: float, grad_checkpointing: bool, batch_size: int) -> str | None:
    """A warning when the estimate comes near the GPU's memory (None when it fits); `UserError` when
    it clearly exceeds it, naming what would make it fit."""
    if est.total_gib <= WARN_AT * gpu_gib:
        return None
    fix = "a smaller --batch-size" if grad_checkpointing else "--grad-checkpointing or a smaller --batch-size"
    if est.total_gib > REFUSE_AT * gpu_gib:
        raise UserError(
            f"--batch-size {batch_size} needs an estimated {est.total_gib:.0f} GiB per GPU but the "
            f"GPU has {gpu_gib:.0f} GiB; use {fix}"
        )
    return f"the estimate is close to the GPU's {gpu_gib:.0f} GiB: if it runs out of memory, use {fix}"
