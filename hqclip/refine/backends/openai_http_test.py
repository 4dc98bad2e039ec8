import json
import logging
import shutil

import pytest

from hqclip.data.shards import list_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.refine.backends.base import BackendUnavailable
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine

SECRET = "sk-test-never-logged-42"


def cfg_for(*endpoints, **kw):
    opts = {
        "endpoints": [e.url for e in endpoints],
        "api_key_env": "HQCLIP_TEST_KEY",
        "concurrency": 4,
        "timeout": 5,
        "retries": 3,
        "backoff": 0.01,
    }
    return RefineConfig(backend="openai", options=opts, batch_size=8, **kw)


def test_rows_retries_balance_and_secret_key(world, tmp_path, endpoint, endpoint2, monkeypatch, caplog):
    monkeypatch.setenv("HQCLIP_TEST_KEY", SECRET)
    endpoint.script = [429, 500, 503]  # retried with backoff, on the other endpoint too
    caplog.set_level(logging.DEBUG)
    shard = list_shards(world / "train")[0]
    stats = run_refine(cfg_for(endpoint, endpoint2), shard, tmp_path / "out", progress=False)
    assert stats["total"]["samples"] == 50 and stats["total"]["ok"] == 50
    assert stats["total"]["tokens_out"] == 50 * 20
    reqs = endpoint.requests + endpoint2.requests
    assert len(reqs) == 53 and min(len(endpoint.requests), len(endpoint2.requests)) >= 15
    body = reqs[0]
    assert body["model"] == "fake-vlm"  # asked /models since no --model was given
    assert body["response_format"]["json_schema"]["schema"]["required"] == [
        "desc",
        "neg_desc",
        "tags",
        "neg_tags",
    ]
    image, text = body["messages"][0]["content"]
    assert image["image_url"]["url"].startswith("data:image/png;base64,")
    assert "Alt-text:" in text["text"]
    assert set(endpoint.auth) == {f"Bearer {SECRET}"}
    assert SECRET not in caplog.text
    row = read_sidecar(tmp_path / "out" / "shard-000000.parquet")[0]
    assert row["model"] == "openai:fake-vlm" and row["tokens_in"] == 10


def test_a_timed_out_request_is_retried(world, tmp_path, endpoint):
    endpoint.script = [0]
    cfg = cfg_for(endpoint, model="fake-vlm")
    cfg.options["timeout"] = 0.5
    stats = run_refine(cfg, list_shards(world / "train")[0], tmp_path / "out", progress=False)
    assert stats["total"]["ok"] == 50 and len(endpoint.requests) == 51


def test_client_error_fails_only_that_sample(world, tmp_path, endpoint):
    endpoint.script = [400]
    cfg = cfg_for(endpoint, max_retries=0, model="fake-vlm")
    stats = run_refine(cfg, list_shards(world / "train")[0], tmp_path / "out", progress=False)
    assert stats["total"]["invalid"] == 1 and stats["total"]["reasons"] == {"http_400": 1}


def test_text_only_sends_no_image(world, tmp_path, endpoint):
    cfg = cfg_for(endpoint, no_image=True, model="fake-vlm")
    run_refine(cfg, list_shards(world / "train")[0], tmp_path / "out", progress=False)
    content = endpoint.requests[0]["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text"]
    assert "cannot see the image" in content[0]["text"]


def test_endpoint_down_stops_the_run_and_keeps_finished_shards(world, tmp_path, endpoint):
    shards = tmp_path / "in"
    shards.mkdir()
    for s in list_shards(world / "train")[:3]:
        shutil.copy(s, shards)
    endpoint.fail_after = 50  # the first shard's 50 answers, then the server fails
    cfg = cfg_for(endpoint, model="fake-vlm")
    with pytest.raises(BackendUnavailable, match="is the server up"):
        run_refine(cfg, shards, tmp_path / "out", progress=False)
    done = sorted(p.name for p in (tmp_path / "out").glob("*.parquet"))
    assert done == ["shard-000000.parquet"]
    assert len(read_sidecar(tmp_path / "out" / done[0])) == 50
    stats = json.loads((tmp_path / "out" / "refine-stats.json").read_text())
    assert stats["total"]["samples"] == 50
    endpoint.down, endpoint.fail_after = False, None
    stats = run_refine(cfg, shards, tmp_path / "out", progress=False)
    assert stats["this_run"]["shards_done"] == 2 and stats["total"]["samples"] == 150


def test_caption_table_input(tmp_path, endpoint, make_png):
    (tmp_path / "img").mkdir()
    lines = ["image,caption"]
    for i in range(3):
        (tmp_path / "img" / f"{i}.png").write_bytes(make_png() if i != 1 else b"broken")
        lines.append(f"img/{i}.png,photo {i}")
    (tmp_path / "captions.csv").write_text("\n".join(lines) + "\n")
    stats = run_refine(
        cfg_for(endpoint, model="fake-vlm"), tmp_path / "captions.csv", tmp_path / "out", progress=False
    )
    assert stats["total"]["samples"] == 3 and stats["total"]["ok"] == 2
    assert stats["total"]["reasons"] == {"input:undecodable_image": 1}
    assert len(endpoint.requests) == 2
