"""What `hqclip distill` refuses before any work, each in one line with exit 2, and the warning a
large base model without a GPU gets."""

import importlib.util
import json
import logging
import shutil

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.distill import preflight
from hqclip.distill.config import DistillConfig
from hqclip.distill.sft import run_distill
from hqclip.errors import UserError
from hqclip.refine.config import RefineConfig


def refused(*args):
    res = CliRunner().invoke(app, ["distill", *map(str, args), "--no-progress"])
    line = res.stderr.strip()
    assert res.exit_code == 2 and line.startswith("hqclip distill: ") and "\n" not in line, res.output
    return line


def test_bad_inputs_are_refused_before_any_work(teacher, tiny_base, tmp_path):
    from transformers import LlamaConfig

    world, sidecars = teacher
    out = tmp_path / "out"
    args = ["--input", world / "train", "--output", out, "--min-records", 10]
    text_model = tmp_path / "tiny-llama"
    LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=64
    ).save_pretrained(text_model)
    line = refused(*args, "--sidecars", sidecars, "--base", text_model)
    assert "is a text-only model (llama); distill fine-tunes image-text-to-text models" in line
    assert "its config could not be read" in refused(
        *args, "--sidecars", sidecars, "--base", tmp_path / "nope"
    )
    line = refused(*args, "--sidecars", sidecars, "--base", tiny_base, "--min-records", 41)
    assert "40 valid teacher records, fewer than --min-records 41" in line
    foreign = tmp_path / "foreign"
    shutil.copytree(sidecars, foreign)
    (foreign / "shard-000000.parquet").rename(foreign / "photos-000000.parquet")
    line = refused(*args, "--sidecars", foreign, "--base", tiny_base)
    assert "photos-000000.parquet: no shard of --input has this name" in line
    line = refused(*args, "--sidecars", tmp_path / "none", "--base", tiny_base)
    assert "--sidecars " + str(tmp_path / "none") + ": no such folder" in line
    assert not out.exists()  # nothing was written
    out.mkdir()
    (out / preflight.CONFIG).write_text(json.dumps({"base": "another-model"}))
    line = refused(*args, "--sidecars", sidecars, "--base", tiny_base)
    assert "holds a distill run with other settings (base, distill," in line and "--overwrite" in line


def test_a_missing_extra_is_named(teacher, tiny_base, tmp_path, monkeypatch):
    world, sidecars = teacher
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a)
    )
    with pytest.raises(UserError, match=r"distill needs peft: pip install 'hqclip\[distill\]'"):
        run_distill(DistillConfig(lora=True), RefineConfig(), world, sidecars, tiny_base, tmp_path / "o")


def test_a_large_base_on_cpu_gets_a_warning_with_an_estimate(caplog, monkeypatch):
    import torch
    from transformers import Qwen2VLConfig

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": 150_000,
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "num_key_value_heads": 2,
        },
        vision_config={"depth": 2, "embed_dim": 64, "hidden_size": 1024, "num_heads": 2},
    )
    with caplog.at_level(logging.WARNING, "hqclip.distill"):
        n = preflight.warn_if_slow(config, "big-vlm", lora=False)
    assert n > 500e6
    (msg,) = [r.getMessage() for r in caplog.records if r.name == "hqclip.distill"]
    assert f"--base big-vlm has {n / 1e9:.2f} B parameters and no GPU is visible" in msg
    assert f"about {n * 16 / 1e9:.0f} GB of memory" in msg and "hours per 1,000 records" in msg
