"""Every mistake a user can make with `hqclip refine` ends before any work in one line that says
what to do, and a non-zero exit; never a traceback, never an output folder full of invalid rows."""

import json
import socket

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.shards import write_shards
from hqclip.data.sidecar import read_sidecar


def refused(*args: str) -> str:
    """Run `hqclip refine ARGS`; assert it stopped with exit 2 and one error line; return it."""
    res = CliRunner().invoke(app, ["refine", *args, "--no-progress"])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("hqclip refine: ")]
    assert len(errors) == 1, res.output
    return errors[0]


@pytest.fixture
def photos(tmp_path, make_png):
    """Three real-data-like samples: image, caption, uid, no scene graph."""
    return write_shards(
        (
            {"__key__": f"{i:09d}", "jpg": make_png(), "txt": f"IMG_{i}.JPG", "json": {"uid": f"{i:032x}"}}
            for i in range(3)
        ),
        tmp_path / "in",
    )[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_default_backend_refuses_input_that_is_not_a_world(photos, tmp_path):
    line = refused("--input", str(photos), "--output", str(tmp_path / "out"))
    assert str(photos) in line and "sample 000000000" in line and "--backend openai" in line
    assert not (tmp_path / "out").exists()  # nothing was written


def test_the_default_backend_on_a_world_is_the_oracle(world, tmp_path):
    res = CliRunner().invoke(
        app, ["refine", "--input", str(world), "--output", str(tmp_path), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    run = json.loads((tmp_path / "refine-run.json").read_text())
    assert run["config"]["backend"] == "oracle"


def test_the_oracle_refuses_input_that_is_not_a_world(photos, tmp_path):
    line = refused("--input", str(photos), "--output", str(tmp_path / "out"), "--backend", "oracle")
    assert "no scene graph" in line and "--backend oracle only answers world shards" in line


@pytest.mark.parametrize("what", ["missing", "empty folder", "empty tar", "unreadable tar"])
def test_missing_or_empty_input(tmp_path, what):
    path = tmp_path / "in"
    if what == "empty folder":
        path.mkdir()
    elif what != "missing":
        path.mkdir()
        path = path / "shard-000000.tar"
        path.write_bytes(b"" if what == "empty tar" else b"not a tar at all" * 100)
    line = refused("--input", str(path), "--output", str(tmp_path / "out"))
    assert str(path) in line
    if "tar" in what:
        assert "no readable sample" in line and "check --input" in line


def test_an_output_folder_holding_img2dataset_metadata_is_refused(photos, tmp_path):
    """img2dataset writes `<shard>.parquet` beside `<shard>.tar`: refining into the shard folder
    would replace it."""
    meta = photos.with_suffix(".parquet")
    pq.write_table(pa.table({"uid": ["0" * 32], "key": ["000000000"], "status": ["success"]}), meta)
    line = refused(
        "--input",
        str(photos),
        "--output",
        str(photos.parent),
        "--backend",
        "openai",
        "--endpoint",
        "http://127.0.0.1:9/v1",
    )
    assert str(meta) in line and "choose another --output" in line
    assert pq.read_table(meta).num_rows == 1


def test_an_endpoint_that_does_not_answer(photos, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    line = refused(
        "--input", str(photos), "--output", str(tmp_path / "out"), "--backend", "openai", "--endpoint", url
    )
    assert url in line and "does not answer" in line and "start the server" in line


def test_an_endpoint_that_does_not_serve_the_model(photos, tmp_path, endpoint):
    line = refused(
        "--input",
        str(photos),
        "--output",
        str(tmp_path / "out"),
        "--backend",
        "openai",
        "--endpoint",
        endpoint.url,
        "--model",
        "Qwen/Qwen2-VL-7B-Instruct",
    )
    assert endpoint.url in line and "does not serve --model Qwen/Qwen2-VL-7B-Instruct" in line
    assert "fake-vlm" in line and not endpoint.requests


def test_an_endpoint_that_refuses_the_key(photos, tmp_path, endpoint, monkeypatch):
    endpoint.key = "sk-right"
    monkeypatch.setenv("HQCLIP_TEST_KEY", "sk-wrong")
    line = refused(
        "--input",
        str(photos),
        "--output",
        str(tmp_path / "out"),
        "--backend",
        "openai",
        "--endpoint",
        endpoint.url,
        "--api-key-env",
        "HQCLIP_TEST_KEY",
    )
    assert endpoint.url in line and "refused the API key (HTTP 401)" in line
    assert "HQCLIP_TEST_KEY" in line and "sk-wrong" not in line


def test_a_text_only_model_needs_no_image(photos, tmp_path, endpoint):
    endpoint.text_only = True
    args = ["--input", str(photos), "--backend", "openai", "--endpoint", endpoint.url]
    line = refused(*args, "--output", str(tmp_path / "a"))
    assert endpoint.url in line and "fake-vlm does not take images" in line and "--no-image" in line
    assert not endpoint.requests and len(endpoint.probes) == 0  # rejected before it was answered
    res = CliRunner().invoke(
        app, ["refine", *args, "--output", str(tmp_path / "b"), "--no-image", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    rows = read_sidecar(tmp_path / "b" / "shard-000000.parquet")
    assert [r["status"] for r in rows] == ["ok"] * 3 and rows[0]["model"] == "openai:fake-vlm"


def test_a_vision_model_passes_the_probe_and_no_model_means_the_served_one(photos, tmp_path, endpoint):
    res = CliRunner().invoke(
        app,
        [
            "refine",
            "--input",
            str(photos),
            "--output",
            str(tmp_path),
            "--backend",
            "openai",
            "--endpoint",
            endpoint.url,
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(endpoint.probes) == 1 and endpoint.probes[0]["model"] == "fake-vlm"
    assert json.loads((tmp_path / "refine-run.json").read_text())["config"]["model"] == "fake-vlm"


def test_an_unknown_backend(photos, tmp_path):
    assert "unknown --backend 'gpt'" in refused(
        "--input", str(photos), "--output", str(tmp_path), "--backend", "gpt"
    )


def test_transformers_needs_an_image_text_to_text_model(photos, tmp_path):
    pytest.importorskip("transformers")
    from transformers import LlamaConfig

    text_model = tmp_path / "tiny-llama"
    LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64
    ).save_pretrained(text_model)
    args = ["--input", str(photos), "--output", str(tmp_path / "out"), "--backend", "transformers"]
    for extra in ([], ["--no-image"]):  # the transformers backend loads image-text-to-text only
        line = refused(*args, "--model", str(text_model), *extra)
        assert "is a text-only model (llama)" in line and "--backend openai --no-image" in line
    assert "needs --model" in refused(*args)
    line = refused(*args, "--model", str(tmp_path / "no-such-model"))
    assert "no-such-model: its config could not be read" in line


def test_a_prompt_or_runner_the_user_got_wrong(world, tmp_path):
    out = str(tmp_path / "o")
    line = refused("--input", str(world), "--output", out, "--prompt", str(tmp_path / "nope.txt"))
    assert f"--prompt {tmp_path / 'nope.txt'}: No such file" in line
    (tmp_path / "p.txt").write_text("Describe the image.")
    assert "needs an {alt_text} slot" in refused(
        "--input", str(world), "--output", out, "--prompt", str(tmp_path / "p.txt")
    )
    (tmp_path / "e.json").write_text("[{")
    assert f"--examples {tmp_path / 'e.json'}: not JSON" in refused(
        "--input", str(world), "--output", out, "--examples", str(tmp_path / "e.json")
    )
    assert "unknown --runner 'nope'" in refused("--input", str(world), "--output", out, "--runner", "nope")
