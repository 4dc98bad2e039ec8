"""The transformers backend end to end on a tiny random-weight Qwen2-VL built here in code (its
byte-level tokenizer, image processor and processor too), saved to a folder and loaded through
the same Auto-class path a user's `--model Qwen/Qwen2-VL-2B-Instruct` takes. Random weights write
nonsense, but the grammar makes every finished answer JSON of the record's shape."""

import json

import pytest

from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.schema import FIELDS

pytestmark = pytest.mark.slow

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def byte_tokenizer():
    """A byte-level tokenizer with the 256 byte symbols and no merges, plus Qwen2-VL's specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_chars = pre_tokenizers.ByteLevel.alphabet()
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(byte_chars))}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS,
    )


def build_tiny_qwen2_vl(
    folder,
    tokenizer=None,
    hidden=32,
    layers=2,
    heads=2,
    vision_depth=1,
    vision_dim=16,
    min_pixels=28 * 28,
    max_pixels=56 * 56,
    seed=0,
):
    """A random-weight Qwen2-VL and its processor saved in `folder` (default: the byte tokenizer,
    2 layers of width 32, images of 4 to 16 patches, i.e. 1 to 4 image tokens)."""
    import torch
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = tokenizer or byte_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIALS}
    half = hidden // heads // 2  # the rotary sections (t, h, w) must add up to half a head
    section = [half // 4, (half - half // 4) // 2]
    torch.manual_seed(seed)
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": 1,
            "max_position_embeddings": 4096,
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "bos_token_id": None,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [*section, half - sum(section)],
            },
        },
        vision_config={
            "depth": vision_depth,
            "embed_dim": vision_dim,
            "hidden_size": hidden,
            "num_heads": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(folder)
    image_processor = Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels)
    Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    pytest.importorskip("xgrammar")
    return str(build_tiny_qwen2_vl(tmp_path_factory.mktemp("qwen") / "tiny-qwen2-vl"))


def _shard(world, tmp_path, n):
    first = list(iter_shard(list_shards(world / "train")[0], decode=False))[:n]
    return write_shards(
        ({"__key__": s.key, "png": s.image_bytes, "txt": s.text, "json": s.meta} for s in first),
        tmp_path / "in",
    )[0], first


@pytest.mark.parametrize("no_image", [False, True])
def test_tiny_qwen2_vl_answers_parse_as_records(world, tmp_path, tiny_qwen, no_image):
    shard, samples = _shard(world, tmp_path, 4)
    cfg = RefineConfig(
        backend="transformers",
        model=tiny_qwen,
        no_image=no_image,
        options={"device": "cpu", "dtype": "float32"},
        few_shot=0,
        max_items=2,
        max_chars=8,
        max_tokens=200,
        temperature=1.0,
        max_retries=1,
        batch_size=4,
    )
    stats = run_refine(cfg, shard, tmp_path / "out", progress=False)
    rows = read_sidecar(tmp_path / "out" / "shard-000000.parquet")
    assert [r["key"] for r in rows] == [s.key for s in samples]
    assert stats["total"]["samples"] == 4 and stats["total"]["tokens_in"] > 0
    for r in rows:
        assert r["model"] == f"transformers:{tiny_qwen}" and r["tokens_out"]
        if r["status"] == "ok":
            assert all(r[f] for f in FIELDS)
        else:  # grammar-constrained: the answer is JSON of the schema; the validator judged it
            assert r["reason"] not in ("not_json", "truncated_json", "empty_output", "length")
            obj = json.loads(r["raw"], strict=False)
            assert set(obj) == set(FIELDS)
            assert all(1 <= len(obj[f]) <= 2 and all(len(s) <= 8 for s in obj[f]) for f in FIELDS)
