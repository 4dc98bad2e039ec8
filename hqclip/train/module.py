"""The trained module: an unmodified open_clip model plus the small STC head parameters.

DDP wraps this module, so DDP sees one forward per step. Inside it the text tower runs once on the
positives + present negatives (concatenated) and once on the tags: each call is trimmed to its own
longest sequence (see hqclip.clip.text), and a single call would pad every short tag to the length of
the longest description: text-tower forward+backward 11.6 s (one call) vs 4.5 s (two calls) for
hqclip-tiny, batch 64, world texts, 2 tag pairs per image, on a loaded 2-core CPU.
`clip.state_dict()` alone is the open_clip checkpoint; the head parameters live beside it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hqclip.clip.text import encode_text, trimmed_length


class HQCLIPModule(nn.Module):
    def __init__(self, clip: nn.Module, stc_head: str | None, embed_dim: int, vocab_size: int = 0):
        super().__init__()
        self.clip = clip
        self.stc_head = stc_head
        if stc_head == "text":
            self.stc_logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            self.stc_logit_bias = nn.Parameter(torch.tensor(0.0))
        elif stc_head == "linear":
            self.stc_linear = nn.Linear(embed_dim, vocab_size)

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("clip.")}

    def prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        """`batch` with what `forward` would otherwise read back from the GPU (each a wait for it):
        the indices of the present negatives and each text call's trimmed length. The training step
        calls it while the batch is on the CPU; `forward` calls it on a batch that skipped it."""
        out = dict(batch)
        texts = [batch["text"]]
        if "neg" in batch:
            out["neg_idx"] = batch["neg_mask"].nonzero().squeeze(1)
            texts.append(batch["neg"][out["neg_idx"]])
        lengths = [trimmed_length(self.clip, t) for t in texts if t.shape[0]]
        out["text_len"] = None if None in lengths else max(lengths)
        out["tag_len"] = trimmed_length(self.clip, batch["tag_text"]) if "tag_text" in batch else None
        return out

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        if "text_len" not in batch:
            batch = self.prepare(batch)
        clip = self.clip
        image = clip.encode_image(batch["images"], normalize=True)
        parts = [batch["text"]]
        neg_idx = None
        if "neg" in batch:
            neg_idx = batch["neg_idx"]
            parts.append(batch["neg"][neg_idx])
        encoded = encode_text(clip, torch.cat(parts), length=batch["text_len"])
        chunks = list(torch.split(encoded, [p.shape[0] for p in parts]))
        out: dict[str, Any] = {
            "image_features": image,
            "text_features": chunks.pop(0),
            "logit_scale": clip.logit_scale.exp(),
            "logit_bias": getattr(clip, "logit_bias", None),
        }
        if neg_idx is not None:
            enc = chunks.pop(0)
            out["neg_features"] = enc.new_zeros(out["text_features"].shape).index_copy(0, neg_idx, enc)
            out["neg_mask"] = batch["neg_mask"]
        if self.stc_head == "text":
            tags = batch["tag_text"]
            out.update(
                # a batch without tags (shards without sidecars) skips the tower: no 0-row forward
                tag_features=encode_text(clip, tags, length=batch["tag_len"])
                if tags.shape[0]
                else image.new_zeros(0, image.shape[1]),
                tag_owner=batch["tag_owner"],
                tag_label=batch["tag_label"],
                stc_scale=self.stc_logit_scale,
                stc_bias=self.stc_logit_bias,
            )
        elif self.stc_head == "linear":
            out.update(
                lin_logits=self.stc_linear(image), lin_target=batch["lin_target"], lin_mask=batch["lin_mask"]
            )
        return out
