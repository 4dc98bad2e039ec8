"""AdamW with open_clip's parameter groups (no weight decay on gains, biases and logit scales) and
its betas and eps by model family where the config leaves them out."""

from __future__ import annotations

import torch
from torch import nn

from hqclip.train.config import TrainConfig


def no_decay(name: str, p: torch.Tensor) -> bool:
    """open_clip_train.main's `exclude` rule, verbatim."""
    return p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name


def adamw(module: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """The fused kernel where torch has one for the device (CPU and CUDA): on CPU the per-tensor
    loop costs 5× as much, most of it on the text tower's 49k-row token embedding."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for _, p in named)
    beta2, eps = family_defaults(cfg.model, module.clip)
    beta2, eps = beta2 if cfg.beta2 is None else cfg.beta2, eps if cfg.eps is None else cfg.eps
    return torch.optim.AdamW(
        [
            {"params": [p for n, p in named if no_decay(n, p)], "weight_decay": 0.0},
            {"params": [p for n, p in named if not no_decay(n, p)], "weight_decay": cfg.wd},
        ],
        lr=cfg.lr,
        betas=(cfg.beta1, beta2),
        eps=eps,
        fused=fused,
    )


def family_defaults(model_name: str, clip: nn.Module) -> tuple[float, float]:
    """open_clip_train's `get_default_params`: the CLIP paper's (beta2, eps), (0.98, 1e-6) for a
    ViT and (0.999, 1e-8) otherwise (ResNets). open_clip tells a ViT by its name; a ViT image tower
    counts too, so hqclip-tiny is one."""
    from open_clip.transformer import VisionTransformer

    vit = "vit" in model_name.lower() or isinstance(clip.visual, VisionTransformer)
    return (0.98, 1e-6) if vit else (0.999, 1e-8)
