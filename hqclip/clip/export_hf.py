"""Export an open_clip CLIP as a Hugging Face transformers `CLIPModel` folder.

transformers' CLIP is OpenAI's architecture: a ViT with a class token, a LayerNorm before the
blocks (`ln_pre`), the class token pooled and normalised, a projection without bias; a causal text
transformer pooled at the end-of-text token after `ln_final`, a projection without bias; one
scalar logit scale; GELU or QuickGELU everywhere. An open_clip model maps onto it weight for
weight when its config uses only those parts. `unsupported` names the first part that does not,
from the config alone, so a refusal comes before any weights are read. The weights map as in
transformers' `convert_clip_original_pytorch_to_hf.py`, with open_clip's packed `in_proj` split
into q, k and v.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hqclip.errors import UserError

# open_clip's attention-block options that transformers' CLIPEncoderLayer has no counterpart for
_CUSTOM_BLOCK = {
    "qk_norm": "LayerNorm on queries and keys (qk_norm)",
    "scaled_cosine_attn": "scaled cosine attention",
    "scale_heads": "per-head attention scales (scale_heads)",
    "scale_attn_inner": "a LayerNorm inside attention (scale_attn_inner)",
    "scale_attn": "a LayerNorm after attention (scale_attn)",
    "scale_fc": "a LayerNorm inside the MLP (scale_fc)",
}
# per-block parameters: open_clip name → transformers name (in_proj is split separately)
_BLOCK = {
    "ln_1": "layer_norm1",
    "attn.out_proj": "self_attn.out_proj",
    "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
}
SOT, EOT = 49406, 49407  # CLIP BPE's start and end of text: the end token has the highest id


def towers(cfg: dict[str, Any]):
    """The vision and text configs with open_clip's defaults filled in."""
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    return CLIPVisionCfg(**cfg.get("vision_cfg", {})), CLIPTextCfg(**cfg.get("text_cfg", {}))


def _block_feature(c) -> str | None:
    if c.ls_init_value is not None:
        return "layer scale (ls_init_value)"
    if c.act_kwargs:
        return f"activation options {c.act_kwargs}"
    if set(c.norm_kwargs or {}) - {"eps"}:
        return f"LayerNorm options {c.norm_kwargs}"
    if c.block_type not in (None, "default"):
        return f"attention block type {c.block_type!r}"
    return next((what for key, what in _CUSTOM_BLOCK.items() if getattr(c, key)), None)


def unsupported(cfg: dict[str, Any]) -> str | None:
    """The first feature of an open_clip config that transformers' CLIPModel cannot express."""
    if "multimodal_cfg" in cfg:
        return "a multimodal text decoder (CoCa)"
    if cfg.get("init_logit_bias") is not None:
        return "a SigLIP-style logit bias (init_logit_bias)"
    v, t = towers(cfg)
    if isinstance(v.layers, (list, tuple)):
        return "a ResNet image tower"
    if v.timm_model_name:
        return f"a timm image tower ({v.timm_model_name})"
    if t.hf_model_name:
        return f"a Hugging Face text tower ({t.hf_model_name})"
    if t.hf_tokenizer_name or t.tokenizer_kwargs or t.tokenizer_mode:
        return "a tokenizer other than CLIP's BPE"
    for size in (v.image_size, v.patch_size):
        if isinstance(size, (list, tuple)) and len(set(size)) > 1:
            return f"a non-square image or patch size {list(size)}"
    checks = (
        (v.attentional_pool, "attentional pooling in the image tower"),
        (v.pool_type != "tok", f"image pooling {v.pool_type!r} (transformers pools the class token)"),
        (v.no_ln_pre, "no LayerNorm before the image blocks (no_ln_pre)"),
        (t.embed_cls, "a class token in the text tower (embed_cls)"),
        (t.no_causal_mask, "a bidirectional text tower (no_causal_mask)"),
        (t.pool_type != "argmax", f"text pooling {t.pool_type!r} (transformers pools the end-of-text token)"),
        (t.proj_type != "linear", f"text projection type {t.proj_type!r}"),
        (t.proj_bias, "a bias in the text projection (proj_bias)"),
    )
    found = next((what for bad, what in checks if bad), None)
    if found:
        return found
    for tower, c in (("image", v), ("text", t)):
        if (what := _block_feature(c)) is not None:
            return f"{what} in the {tower} tower"
    return None


def check_exportable(name: str) -> dict[str, Any]:
    """The open_clip config of `name`, or a `UserError` naming what transformers cannot express."""
    import importlib.util

    from hqclip.clip.configs import model_config

    if importlib.util.find_spec("transformers") is None:
        raise UserError("export to transformers needs transformers: pip install 'hqclip[hf]'")
    cfg = model_config(name)
    if (what := unsupported(cfg)) is not None:
        raise UserError(
            f"{name} has {what}, which transformers' CLIPModel cannot express; export takes ViT image "
            f"towers with a class token and open_clip's standard text tower"
        )
    return cfg


def hf_config(cfg: dict[str, Any], logit_scale: float):
    """transformers' CLIPConfig for an open_clip config that `unsupported` passed."""
    from transformers import CLIPConfig

    v, t = towers(cfg)
    act = "quick_gelu" if cfg.get("quick_gelu") else "gelu"  # open_clip's nn.GELU is the exact one
    size = lambda s: s[0] if isinstance(s, (list, tuple)) else s  # noqa: E731  (square, checked)
    common = lambda c: {  # noqa: E731
        "hidden_size": c.width,
        "intermediate_size": int(c.width * c.mlp_ratio),
        "num_hidden_layers": c.layers,
        "projection_dim": cfg["embed_dim"],
        "hidden_act": act,
        "layer_norm_eps": (c.norm_kwargs or {}).get("eps", 1e-5),
    }
    return CLIPConfig(
        vision_config={
            **common(v),
            "num_attention_heads": v.width // v.head_width,
            "image_size": size(v.image_size),
            "patch_size": size(v.patch_size),
        },
        text_config={
            **common(t),
            "num_attention_heads": t.heads,
            "vocab_size": t.vocab_size,
            "max_position_embeddings": t.context_length,
            # pooled at the first end-of-text token: where open_clip's argmax lands with CLIP BPE
            "bos_token_id": SOT,
            "eos_token_id": EOT,
            "pad_token_id": EOT,  # the tokenizer's padding (never read: causal, pooled at the first end)
        },
        projection_dim=cfg["embed_dim"],
        logit_scale_init_value=logit_scale,
    )


def _blocks(sd: dict, src: str, dst: str, layers: int) -> dict[str, torch.Tensor]:
    out = {}
    for i in range(layers):
        s, d = f"{src}transformer.resblocks.{i}.", f"{dst}encoder.layers.{i}."
        for kind in ("weight", "bias"):
            for name, part in zip("qkv", sd[f"{s}attn.in_proj_{kind}"].chunk(3)):
                out[f"{d}self_attn.{name}_proj.{kind}"] = part
            for ours, theirs in _BLOCK.items():
                out[f"{d}{theirs}.{kind}"] = sd[f"{s}{ours}.{kind}"]
    return out


def hf_state_dict(sd: dict[str, torch.Tensor], cfg: dict[str, Any]) -> dict[str, torch.Tensor]:
    """open_clip's state dict in transformers' CLIPModel names (a `CustomTextCLIP` with the
    standard text tower keeps it under `text.`)."""
    v, t = towers(cfg)
    txt = "text." if "text.token_embedding.weight" in sd else ""
    out = {
        "logit_scale": sd["logit_scale"].reshape(()),
        "vision_model.embeddings.class_embedding": sd["visual.class_embedding"],
        "vision_model.embeddings.patch_embedding.weight": sd["visual.conv1.weight"],
        "vision_model.embeddings.position_embedding.weight": sd["visual.positional_embedding"],
        "visual_projection.weight": sd["visual.proj"].T,
        "text_model.embeddings.token_embedding.weight": sd[f"{txt}token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": sd[f"{txt}positional_embedding"],
        "text_projection.weight": sd[f"{txt}text_projection"].T,
    }
    for ours, theirs in (
        ("visual.ln_pre", "vision_model.pre_layrnorm"),
        ("visual.ln_post", "vision_model.post_layernorm"),
        (f"{txt}ln_final", "text_model.final_layer_norm"),
    ):
        for kind in ("weight", "bias"):
            out[f"{theirs}.{kind}"] = sd[f"{ours}.{kind}"]
    out |= _blocks(sd, "visual.", "vision_model.", v.layers)
    out |= _blocks(sd, txt, "text_model.", t.layers)
    return {k: x.detach().float().contiguous().clone() for k, x in out.items()}


def check_parity(model, hf, tokenizer, atol: float = 1e-4) -> None:
    """The exported model's normalised embeddings of one image and two texts equal open_clip's:
    a mapping this module does not know about (a new open_clip option) fails here, not in use."""
    import torch.nn.functional as F

    size = hf.config.vision_config.image_size
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    text = tokenizer(["a photo of a red circle.", ""])
    with torch.no_grad():
        ours = (model.encode_image(image, normalize=True), model.encode_text(text, normalize=True))
        theirs = (hf.get_image_features(pixel_values=image), hf.get_text_features(input_ids=text))
    for what, a, b in zip(("image", "text"), ours, theirs):
        b = F.normalize(getattr(b, "pooler_output", b), dim=-1)
        gap = float((a - b).abs().max())
        if gap > atol:
            raise RuntimeError(f"the exported {what} tower differs from open_clip's by {gap:.2e}")


def export(name: str, model, tokenizer, out: Path) -> Path:
    """Write `out` as a transformers CLIPModel + CLIPProcessor folder (config.json,
    model.safetensors, tokenizer and image processor files) for open_clip model `name`, then load
    it back with `CLIPModel.from_pretrained` and check it against `model`."""
    import open_clip
    from safetensors.torch import save_file
    from transformers import CLIPModel

    from hqclip.clip.export_hf_processor import clip_processor

    cfg = check_exportable(name)
    processor = clip_processor(open_clip.get_model_preprocess_cfg(model), towers(cfg)[1].context_length)
    sd = {k: v.cpu() for k, v in model.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    hf_config(cfg, float(sd["logit_scale"].reshape(()))).save_pretrained(out)
    save_file(hf_state_dict(sd, cfg), out / "model.safetensors", metadata={"format": "pt"})
    processor.save_pretrained(out)
    check_parity(model.cpu().eval(), CLIPModel.from_pretrained(out).eval(), tokenizer)
    return out
