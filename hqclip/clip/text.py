"""Text-tower forward trimmed to the longest real sequence of the batch.

open_clip's CLIP text tower is causal and pools at the end-of-text token, so every output it uses
depends only on the tokens up to that position: running the tower on `tokens[:, :L]` with
`positional_embedding[:L]` and `attn_mask[:L, :L]` (L = last EOT position + 1) gives the same
features as `encode_text`. Tags and short descriptions use a fraction of the context, so this is
what makes the concatenated (positives + negatives + tags) forward cheap. Towers for which this is
not exact (non-causal, HF or custom text towers) use `encode_text` unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from open_clip.transformer import text_global_pool


def trimmable(clip: torch.nn.Module) -> bool:
    return (
        getattr(clip, "attn_mask", None) is not None
        and hasattr(clip, "positional_embedding")
        and getattr(clip, "text_pool_type", None) in ("argmax", "eos")
    )


def trimmed_length(clip: torch.nn.Module, text: torch.Tensor) -> int | None:
    """The tokens `encode_text` keeps (the last EOT position + 1); None when it keeps them all.
    Reading it is a wait for the device the tokens are on: the training step asks it of the batch
    while it is still on the CPU."""
    if not trimmable(clip) or text.shape[0] == 0:
        return None
    eos = getattr(clip, "text_eos_id", None)
    end = text.argmax(dim=-1) if clip.text_pool_type == "argmax" else (text == eos).int().argmax(dim=-1)
    return int(end.max()) + 1


def encode_text(
    clip: torch.nn.Module, text: torch.Tensor, normalize: bool = True, length: int | None = None
) -> torch.Tensor:
    """`clip.encode_text(text)`, on the tokens up to `length` (default: `trimmed_length`)."""
    L = length or trimmed_length(clip, text)
    if L is None:
        return clip.encode_text(text, normalize=normalize)
    eos = getattr(clip, "text_eos_id", None)
    text = text[:, :L]
    cast_dtype = clip.transformer.get_cast_dtype()
    x = clip.token_embedding(text).to(cast_dtype) + clip.positional_embedding[:L].to(cast_dtype)
    x = clip.transformer(x, attn_mask=clip.attn_mask[:L, :L])
    x = clip.ln_final(x)
    x = text_global_pool(x, text, clip.text_pool_type, eos_token_id=eos)
    if clip.text_projection is not None:
        x = (
            clip.text_projection(x)
            if isinstance(clip.text_projection, torch.nn.Linear)
            else x @ clip.text_projection
        )
    return F.normalize(x, dim=-1) if normalize else x
