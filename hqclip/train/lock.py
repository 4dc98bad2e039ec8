"""Tower locking for fine-tuning, with open_clip_train's options and meaning: `--lock-image` calls the
model's `lock_image_tower` (LiT), `--lock-text` its text tower's lock. Locked parameters get
`requires_grad=False` before the optimiser and DDP see the model, so they have no optimiser state,
no weight decay and no gradient to reduce (DDP keeps find_unused_parameters=False).

open_clip's native text tower (open_clip 3.3's `transformer.lock_text_tower`: groups token +
positional embedding, each block, last block + ln_final, projection) refuses
`freeze_layer_norm=False`, the default of open_clip_train's `--lock-text-freeze-layer-norm`; here
that default means what it means for a HF text tower: the LayerNorms of locked layers stay
trainable."""

from __future__ import annotations

from typing import Any

from torch import nn

from hqclip.errors import UserError
from hqclip.train.config import TrainConfig


def check(cfg: TrainConfig, model_cfg: dict[str, Any]) -> None:
    """Refuse lock options that cannot apply, before the model is built."""
    for name in ("lock_image_unlocked_groups", "lock_text_unlocked_layers"):
        if getattr(cfg, name) < 0:
            raise UserError(f"--{name.replace('_', '-')} {getattr(cfg, name)}: must be 0 or more")
    for on, flag, options in (
        (cfg.lock_image, "image", ("lock_image_unlocked_groups", "lock_image_freeze_bn_stats")),
        (cfg.lock_text, "text", ("lock_text_unlocked_layers", "lock_text_freeze_layer_norm")),
    ):
        given = [o for o in options if getattr(cfg, o)]
        if given and not on:
            raise UserError(f"--{given[0].replace('_', '-')} applies to a locked tower: add --lock-{flag}")
    vision = model_cfg.get("vision_cfg", {})
    resnet = isinstance(vision.get("layers"), (list, tuple)) and not vision.get("timm_model_name")
    if cfg.lock_image and cfg.lock_image_unlocked_groups and resnet:
        raise UserError(
            f"--lock-image-unlocked-groups: {cfg.model}'s ResNet image tower locks only whole in "
            "open_clip; use --lock-image alone, or a ViT model"
        )


OPTIONS = (
    "lock_image",
    "lock_image_unlocked_groups",
    "lock_image_freeze_bn_stats",
    "lock_text",
    "lock_text_unlocked_layers",
    "lock_text_freeze_layer_norm",
)


def resume_matches(saved: dict[str, Any], cfg: TrainConfig) -> None:
    """A checkpoint's optimiser holds state for the parameters its run trained: resume with its locks."""
    defaults = TrainConfig("-", "-")
    for name in OPTIONS:
        was = saved.get(name, getattr(defaults, name))
        if was != getattr(cfg, name):
            raise UserError(
                f"the checkpoint was trained with --{name.replace('_', '-')} {was}; resume with the "
                f"same lock options (now {getattr(cfg, name)})"
            )


def lock(clip: nn.Module, cfg: TrainConfig) -> None:
    """Apply the lock options to an open_clip model in place."""
    if cfg.lock_image:
        clip.lock_image_tower(cfg.lock_image_unlocked_groups, cfg.lock_image_freeze_bn_stats)
    if cfg.lock_text:
        lock_text(clip, cfg.lock_text_unlocked_layers, cfg.lock_text_freeze_layer_norm)


def lock_text(clip: nn.Module, unlocked_layers: int, freeze_layer_norm: bool) -> None:
    from open_clip.hf_model import HFTextEncoder
    from open_clip.transformer import lock_text_tower

    text = getattr(clip, "text", None)
    if isinstance(text, HFTextEncoder):
        text.lock(unlocked_layers, freeze_layer_norm)
        return
    lock_text_tower(clip, unlocked_layers)
    if not freeze_layer_norm:
        tower = text if text is not None else clip
        for m in (tower.transformer, tower.ln_final):
            for sub in m.modules():
                if isinstance(sub, nn.LayerNorm):
                    sub.requires_grad_(True)


def trainable(module: nn.Module) -> tuple[int, int]:
    """(trainable, all) parameter counts."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
