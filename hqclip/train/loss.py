"""HQ-CLIP loss: L = L_con + hni_weight·L_hni + stc_weight·L_stc, each term returned for logging.

- L_con: symmetric InfoNCE, the same computation as open_clip's `ClipLoss` (same gather, same
  local-loss labels), so with both weights 0 the loss and its gradients are ClipLoss's.
- L_hni: image→text cross-entropy whose columns are all gathered positives followed by all gathered
  negative descriptions (NegCLIP style); missing negatives are masked out. Text→image is unchanged.
- L_stc, head "text": per image, its sampled tags (label 1) and their aligned negative tags
  (label 0), encoded by the text tower; logit = exp(s)·<image, tag> + b with a learnable
  SigLIP-style scale s and bias b; BCE averaged over every tag of the global batch.
- L_stc, head "linear": BCE of a linear layer on the image embedding against the multi-hot of the
  image's tags within a fixed vocabulary, averaged over annotated images × vocabulary.
Per-rank sums are divided by the global count and multiplied by world size, so that DDP's gradient
averaging gives exactly the single-process gradient of the global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from open_clip.loss import gather_features
from torch import nn


def _gather_nograd(x: torch.Tensor, world_size: int) -> torch.Tensor:
    if world_size == 1:
        return x
    parts = [torch.zeros_like(x) for _ in range(world_size)]
    torch.distributed.all_gather(parts, x)
    return torch.cat(parts)


def _global_count(n: torch.Tensor | int, world_size: int, device: torch.device) -> torch.Tensor | float:
    """The count summed over ranks, at least 1. A Python count stays one on a single rank, and is
    filled on the device on several (no host-to-device copy, so no wait for the GPU)."""
    if world_size == 1 and not torch.is_tensor(n):
        return max(float(n), 1.0)
    n = n.detach().float().clone() if torch.is_tensor(n) else torch.full((), float(n), device=device)
    if world_size > 1:
        torch.distributed.all_reduce(n)
    return n.clamp(min=1.0)


class HQCLIPLoss(nn.Module):
    def __init__(
        self,
        hni_weight: float = 0.0,
        stc_weight: float = 0.0,
        stc_head: str = "text",
        local_loss: bool = False,
        gather_with_grad: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ):
        super().__init__()
        if stc_head not in ("text", "linear"):
            raise ValueError(f"stc_head {stc_head!r}: 'text' or 'linear'")
        self.hni_weight, self.stc_weight, self.stc_head = hni_weight, stc_weight, stc_head
        self.local_loss, self.gather_with_grad = local_loss, gather_with_grad
        self.rank, self.world_size = rank, world_size

    def _gather(self, image: torch.Tensor, text: torch.Tensor):
        if self.world_size == 1:
            return image, text
        return gather_features(
            image,
            text,
            local_loss=self.local_loss,
            gather_with_grad=self.gather_with_grad,
            rank=self.rank,
            world_size=self.world_size,
        )

    def forward(
        self,
        image_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None = None,
        neg_features: torch.Tensor | None = None,
        neg_mask: torch.Tensor | None = None,
        tag_features: torch.Tensor | None = None,
        tag_owner: torch.Tensor | None = None,
        tag_label: torch.Tensor | None = None,
        stc_scale: torch.Tensor | None = None,
        stc_bias: torch.Tensor | None = None,
        lin_logits: torch.Tensor | None = None,
        lin_target: torch.Tensor | None = None,
        lin_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        # fp32 logits: autocast would run the matmuls below in bf16/fp16 despite the casts
        with torch.autocast(image_features.device.type, enabled=False):
            img, txt = image_features.float(), text_features.float()
            B, D = txt.shape
            use_hni = self.hni_weight > 0 and neg_features is not None
            # one collective for positives and negatives: concatenate along the feature dim
            both = torch.cat([txt, neg_features.float()], dim=1) if use_hni else txt
            all_img, all_both = self._gather(img, both)
            all_txt = all_both[:, :D]
            local = self.local_loss and self.world_size > 1
            rows_img, rows_txt = (img, txt) if local else (all_img, all_txt)
            logits_i = logit_scale * rows_img @ all_txt.T
            logits_t = logit_scale * rows_txt @ all_img.T
            if logit_bias is not None:
                logits_i, logits_t = logits_i + logit_bias, logits_t + logit_bias
            labels = torch.arange(rows_img.shape[0], device=img.device)
            if local:
                labels = labels + B * self.rank
            out = {"contrastive": (F.cross_entropy(logits_i, labels) + F.cross_entropy(logits_t, labels)) / 2}
            if use_hni:
                all_neg = all_both[:, D:]
                mask = _gather_nograd(neg_mask.to(img.device), self.world_size)
                neg_logits = logit_scale * rows_img @ all_neg.T
                if logit_bias is not None:
                    neg_logits = neg_logits + logit_bias
                neg_logits = neg_logits.masked_fill(~mask[None, :], float("-inf"))
                out["hni"] = F.cross_entropy(torch.cat([logits_i, neg_logits], dim=1), labels)
            if self.stc_weight > 0:
                out["stc"] = self._stc(
                    img,
                    tag_features,
                    tag_owner,
                    tag_label,
                    stc_scale,
                    stc_bias,
                    lin_logits,
                    lin_target,
                    lin_mask,
                )
            total = out["contrastive"]
            if "hni" in out:
                total = total + self.hni_weight * out["hni"]
            if "stc" in out:
                total = total + self.stc_weight * out["stc"]
            out["loss"] = total
            return out

    def _stc(
        self, img, tag_features, tag_owner, tag_label, stc_scale, stc_bias, lin_logits, lin_target, lin_mask
    ) -> torch.Tensor:
        if self.stc_head == "text":
            logits = stc_scale.exp() * (img[tag_owner] * tag_features.float()).sum(-1) + stc_bias
            per = F.binary_cross_entropy_with_logits(logits, tag_label, reduction="sum")
            n = tag_label.numel()
            anchor = 0.0 * (stc_scale + stc_bias)  # params stay in the graph when a batch has no tags
        else:
            per = F.binary_cross_entropy_with_logits(lin_logits.float(), lin_target, reduction="none")
            per = (per.sum(1) * lin_mask).sum()
            n = lin_mask.sum() * lin_target.shape[1]
            anchor = 0.0 * lin_logits.sum()
        return per * self.world_size / _global_count(n, self.world_size, img.device) + anchor
