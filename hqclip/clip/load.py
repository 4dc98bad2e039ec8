"""Which model to evaluate or score with: parse `--model` specs, load them through open_clip (a
user mistake is a `UserError` before any work), check that the tokenizer belongs to the model,
and hash the weights (the key of eval's embedding cache and of score's fingerprint)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqclip.errors import UserError, first_line

# open_clip names that carry their own ':' and never take a separate checkpoint
SCHEMA_PREFIXES = ("hf-hub:", "local-dir:")


@dataclass(frozen=True)
class ModelSpec:
    """`[LABEL=]NAME[:PRETRAINED]`: an open_clip model name, optionally a checkpoint file or an
    open_clip pretrained tag after the first ':', optionally a display label before '='."""

    label: str
    name: str
    pretrained: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        label = None
        head = text.split(":", 1)[0]
        if "=" in head and not text.startswith(SCHEMA_PREFIXES):
            label, text = text.split("=", 1)
        if text.startswith(SCHEMA_PREFIXES) or ":" not in text:
            name, pretrained = text, None
        else:
            name, pretrained = text.split(":", 1)
        if not name or (label is not None and not label) or pretrained == "":
            raise UserError(f"bad --model {text!r}: expected [LABEL=]NAME[:CHECKPOINT_OR_TAG]")
        return cls(
            label or (f"{name}:{os.path.basename(pretrained)}" if pretrained else name), name, pretrained
        )


@dataclass
class Loaded:
    """A model ready to embed: eval-mode module, its eval transform and its tokenizer."""

    label: str
    model: Any
    preprocess: Any
    tokenizer: Any
    spec: str = ""


def register_configs(spec: ModelSpec) -> None:
    """Make `hqclip train`'s tiny configs known to open_clip, and the `<NAME>.json` that a training
    run writes beside its checkpoints folder when NAME is not a known model."""
    import open_clip

    from hqclip.clip import configs

    configs.register()
    if spec.pretrained and os.path.isfile(spec.pretrained) and spec.name not in open_clip.list_models():
        ckpt = Path(spec.pretrained).resolve()
        for cfg in (ckpt.parent / f"{spec.name}.json", ckpt.parent.parent / f"{spec.name}.json"):
            if cfg.is_file():
                open_clip.add_model_config(cfg)
                return


def load(spec: ModelSpec, device: str = "cpu", seed: int = 0) -> Loaded:
    """Create the model (random init seeded by `seed` when no checkpoint is given) and its tokenizer."""
    import open_clip
    import torch

    register_configs(spec)
    if spec.name not in open_clip.list_models() and not spec.name.startswith(SCHEMA_PREFIXES):
        raise UserError(
            f"model {spec.label!r}: unknown open_clip model {spec.name!r} "
            f"(see `python -c 'import open_clip; print(open_clip.list_models())'`)"
        )
    torch.manual_seed(seed)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            spec.name, pretrained=spec.pretrained, device=device, weights_only=True
        )
    except Exception as e:  # missing file, unknown tag, state-dict shape or key mismatch
        what = "checkpoint" if spec.pretrained and os.path.isfile(spec.pretrained) else "pretrained tag/file"
        raise UserError(
            f"model {spec.label!r}: cannot load {what} {spec.pretrained} into {spec.name}: {first_line(e)}"
        ) from e
    model.eval()
    loaded = Loaded(
        spec.label,
        model,
        preprocess,
        open_clip.get_tokenizer(spec.name),
        f"{spec.name}:{spec.pretrained}" if spec.pretrained else spec.name,
    )
    check_compatible(loaded)
    return loaded


def check_compatible(m: Loaded) -> None:
    """Fail fast when the tokenizer cannot feed the text tower (vocabulary or context length)."""
    import torch

    model_vocab = getattr(m.model, "vocab_size", None)
    tok_vocab = getattr(m.tokenizer, "vocab_size", None) or getattr(
        getattr(m.tokenizer, "tokenizer", None), "vocab_size", None
    )
    if model_vocab and tok_vocab and tok_vocab > model_vocab:
        raise UserError(
            f"model {m.label!r}: tokenizer has {tok_vocab} tokens but the text tower "
            f"embeds {model_vocab}; use the tokenizer of the same open_clip model"
        )
    model_ctx = getattr(m.model, "context_length", None)
    tok_ctx = getattr(m.tokenizer, "context_length", None)
    if model_ctx and tok_ctx and model_ctx != tok_ctx:
        raise UserError(
            f"model {m.label!r}: tokenizer context length {tok_ctx} != model context "
            f"length {model_ctx}; use the tokenizer of the same open_clip model"
        )
    try:
        with torch.no_grad():
            m.model.encode_text(m.tokenizer(["a photo."]).to(device_of(m.model)))
    except Exception as e:
        raise UserError(
            f"model {m.label!r}: its tokenizer's output does not run through the text "
            f"tower ({type(e).__name__}: {e}); use the tokenizer of the same model"
        ) from e


def device_of(model) -> Any:
    return next(model.parameters()).device


def weights_hash(m: Loaded) -> str:
    """Hash of the weights, transform and tokenizer: the cache key part that names the model."""
    import torch

    h = hashlib.sha256()
    for name, t in m.model.state_dict().items():
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    h.update(repr(m.preprocess).encode())
    h.update(f"{type(m.tokenizer).__name__}:{getattr(m.tokenizer, 'context_length', '')}".encode())
    return h.hexdigest()
