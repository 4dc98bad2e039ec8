"""The transformers `CLIPProcessor` that matches an open_clip model's own input pipeline.

Tokenizer: open_clip's CLIP BPE (`SimpleTokenizer`) has the vocabulary and merges of OpenAI's,
which transformers' `CLIPTokenizer` reads; the start and end tokens get the names transformers
expects. With `truncation=True` the ids equal open_clip's up to the end token; after it open_clip
pads with 0 and transformers with the end token (a pad token "!", id 0, would turn every "!" in
a text into padding), which the causal mask and end-token pooling never read.
open_clip also runs ftfy and HTML unescaping on each text, which transformers' tokenizer does
not: texts with mojibake or HTML entities can tokenize differently.

Image processor: open_clip's eval transform (resize the short side, centre-crop, normalise) with
the model's own size, mean, std and interpolation (docs/export.md: where the two crops differ).
"""

from __future__ import annotations

from typing import Any

from hqclip.errors import UserError

_SPECIAL = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
_RESAMPLE = {"bilinear": 2, "bicubic": 3}  # PIL's numbers; open_clip's eval transform: bicubic otherwise


def clip_tokenizer(context_length: int):
    """transformers' CLIPTokenizer with open_clip's vocabulary, merges and padding."""
    from open_clip.tokenizer import SimpleTokenizer
    from transformers import CLIPTokenizer

    st = SimpleTokenizer()
    vocab = {_SPECIAL.get(tok, tok): i for tok, i in st.encoder.items()}
    merges = [pair for pair, _ in sorted(st.bpe_ranks.items(), key=lambda kv: kv[1])]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=context_length)


def image_processor(preprocess: dict[str, Any]):
    """transformers' CLIPImageProcessor for an open_clip preprocess config (size, mean, std,
    interpolation, resize_mode)."""
    from transformers import CLIPImageProcessorPil

    size = preprocess.get("size", 224)
    if isinstance(size, (list, tuple)):
        if len(set(size)) > 1:
            raise UserError(f"image size {list(size)} is not square; transformers' CLIP takes square images")
        size = size[0]
    mode = preprocess.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash"):
        raise UserError(f"resize mode {mode!r} has no counterpart in CLIPImageProcessor (shortest, squash)")
    square = {"height": size, "width": size}
    return CLIPImageProcessorPil(
        size={"shortest_edge": size} if mode == "shortest" else square,
        crop_size=square,
        do_center_crop=mode == "shortest",
        resample=_RESAMPLE.get(preprocess.get("interpolation", "bicubic"), 3),
        image_mean=list(preprocess["mean"]),
        image_std=list(preprocess["std"]),
    )


def clip_processor(preprocess: dict[str, Any], context_length: int):
    from transformers import CLIPProcessor

    return CLIPProcessor(
        image_processor=image_processor(preprocess), tokenizer=clip_tokenizer(context_length)
    )
