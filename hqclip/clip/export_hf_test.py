"""Export to transformers: a tiny ViT CLIP built in code gives the same embeddings, logit scale and
token ids through `CLIPModel` + `CLIPProcessor` as through open_clip; architectures transformers'
CLIP cannot express are named."""

from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from hqclip.clip.configs import model_config
from hqclip.clip.export_hf import export, unsupported
from hqclip.clip.export_hf_processor import clip_processor

CONTEXT = 16
TEXTS = [
    "a red circle",
    "Two BIG   blue squares, left of a cat!",
    "",
    "the small blue square is left of the large green circle, and a yellow triangle above both of them",
]


def tiny_cfg(quick_gelu: bool, custom_text: bool = False) -> dict:
    return {
        "embed_dim": 24,
        "quick_gelu": quick_gelu,
        "custom_text": custom_text,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }


@pytest.fixture(params=["gelu", "quickgelu", "custom-text"])
def tiny(request, tmp_path):
    """(name, open_clip model with every weight perturbed, its eval transform, its tokenizer); a
    `CustomTextCLIP` (custom_text) keeps the standard text tower under `text.`."""
    name = f"hqclip-export-test-{request.param}"
    cfg = tiny_cfg(request.param == "quickgelu", custom_text=request.param == "custom-text")
    (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / f"{name}.json")
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    with torch.no_grad():  # LayerNorms and biases start at 1 and 0: make every mapping count
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return name, model.eval(), preprocess, open_clip.get_tokenizer(name)


def test_transformers_gives_open_clips_embeddings_and_logit_scale(tiny, tmp_path):
    """Images at the model's size through transformers' default processor, and resized ones
    (crop offsets that both libraries place alike) through its PIL backend."""
    from transformers import CLIPModel, CLIPProcessor

    name, model, preprocess, tokenizer = tiny
    out = export(name, model, tokenizer, tmp_path / "hf")
    hf = CLIPModel.from_pretrained(out).eval()
    rng = np.random.default_rng(0)
    image = lambda h, w: Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))  # noqa: E731
    for backend, images in (
        (None, [image(32, 32) for _ in range(3)]),
        ("pil", [image(32, 32), image(50, 70), image(100, 64)]),
    ):
        processor = CLIPProcessor.from_pretrained(out, **({"backend": backend} if backend else {}))
        inputs = processor(text=TEXTS, images=images, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            want_img = model.encode_image(torch.stack([preprocess(im) for im in images]))
            want_txt = model.encode_text(tokenizer(TEXTS))
            got_img = hf.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
            got_txt = hf.get_text_features(
                input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
            ).pooler_output
        assert (got_img - want_img).abs().max() <= 1e-4, backend
        assert (got_txt - want_txt).abs().max() <= 1e-4, backend
    assert abs(hf.logit_scale.exp().item() - model.logit_scale.exp().item()) <= 1e-4
    assert hf.config.text_config.hidden_act == hf.config.vision_config.hidden_act
    assert hf.config.text_config.hidden_act == ("quick_gelu" if name.endswith("quickgelu") else "gelu")


def test_tokenizer_gives_open_clips_ids_up_to_the_end_token(tmp_path):
    """open_clip pads with 0 and transformers with the end token: what follows the end token is
    never read (causal mask, pooling at the first end token), so ids must agree up to it."""
    from transformers import CLIPProcessor

    clip_processor({"size": 32, "mean": (0.5,) * 3, "std": (0.5,) * 3}, CONTEXT).save_pretrained(tmp_path)
    tok = CLIPProcessor.from_pretrained(tmp_path).tokenizer
    want = open_clip.tokenizer.SimpleTokenizer(context_length=CONTEXT)(TEXTS)
    got = tok(TEXTS, padding="max_length", truncation=True, return_tensors="pt")["input_ids"]
    assert got.shape == want.shape == (len(TEXTS), CONTEXT)
    for w, g in zip(want, got):
        end = int(w.argmax()) + 1
        assert g[:end].tolist() == w[:end].tolist()
    assert want[3, -1] == tok.eos_token_id and len(tok(TEXTS[3])["input_ids"]) > CONTEXT  # truncated


def test_image_processor_with_the_pil_backend_reproduces_open_clips_resize_and_crop(tmp_path):
    """A 70×50 image: the PIL backend gives open_clip's pixels exactly; transformers' default
    (torchvision) backend resamples slightly differently."""
    from transformers import CLIPProcessor

    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    clip_processor({"size": 32, "mean": mean, "std": std}, CONTEXT).save_pretrained(tmp_path)
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8))
    want = open_clip.image_transform(32, is_train=False, mean=mean, std=std)(image)
    pil = CLIPProcessor.from_pretrained(tmp_path, backend="pil")
    assert torch.equal(pil(images=[image], return_tensors="pt")["pixel_values"][0], want)


BASE = tiny_cfg(False)


def variant(vision=None, text=None, **top) -> dict:
    return {
        **BASE,
        **top,
        "vision_cfg": {**BASE["vision_cfg"], **(vision or {})},
        "text_cfg": {**BASE["text_cfg"], **(text or {})},
    }


@pytest.mark.parametrize(
    "cfg,named",
    [
        (variant(vision={"layers": [1, 1, 1, 1]}), "ResNet image tower"),
        (variant(text={"hf_model_name": "roberta-base"}), "Hugging Face text tower (roberta-base)"),
        (variant(init_logit_bias=-10), "SigLIP-style logit bias"),
        (variant(vision={"pool_type": "avg"}), "image pooling 'avg'"),
        (variant(vision={"attentional_pool": True}), "attentional pooling"),
        (variant(vision={"no_ln_pre": True}), "no LayerNorm before the image blocks"),
        (variant(text={"ls_init_value": 1e-4}), "layer scale (ls_init_value) in the text tower"),
        (variant(vision={"qk_norm": True}), "qk_norm) in the image tower"),
        (variant(text={"pool_type": "last"}), "text pooling 'last'"),
        (variant(text={"proj_bias": True}), "bias in the text projection"),
        (variant(text={"no_causal_mask": True}), "bidirectional text tower"),
        (variant(text={"hf_tokenizer_name": "bert-base-uncased"}), "tokenizer other than CLIP's BPE"),
        (variant(vision={"timm_model_name": "vit_base_patch16_224"}), "timm image tower"),
        (variant(multimodal_cfg={"layers": 1}), "CoCa"),
    ],
)
def test_unsupported_architectures_are_named(cfg, named):
    assert named in unsupported(cfg)


def test_supported_configs_pass():
    assert unsupported(BASE) is None
    assert (
        unsupported(variant(vision={"final_ln_after_pool": True}, text={"norm_kwargs": {"eps": 1e-6}}))
        is None
    )
    for name in ("ViT-B-32", "ViT-L-14-quickgelu", "hqclip-micro"):
        assert unsupported(model_config(name)) is None, name
    for name, named in (("RN50", "ResNet"), ("ViT-B-16-SigLIP", "SigLIP"), ("coca_ViT-B-32", "CoCa")):
        assert named in unsupported(open_clip.get_model_config(name)), name
