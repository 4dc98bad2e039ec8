"""`hqclip wise-ft` and `hqclip export` end to end on tiny models, and their one-line refusals."""

from __future__ import annotations

import json

import huggingface_hub
import pytest
import torch
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.clip.configs import create
from hqclip.eval.conftest import build_eval

MICRO = "hqclip-micro"


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(r, command: str, *needles: str) -> None:
    """Exit 2 and the last line of stderr is the message (transformers' own bars may come before)."""
    line = r.stderr.strip().splitlines()[-1]
    assert r.exit_code == 2 and line.startswith(f"hqclip {command}: "), r.output
    assert all(n in line for n in needles), line


def checkpoint(path, name: str = MICRO, seed: int = 0):
    torch.manual_seed(seed)
    torch.save({"state_dict": create(name)[0].state_dict(), "step": 1}, path)
    return path


def test_wise_ft_writes_a_checkpoint_per_alpha_and_the_frontier_report(tmp_path):
    zs, ft = checkpoint(tmp_path / "zs.pt", seed=0), checkpoint(tmp_path / "ft.pt", seed=1)
    out = tmp_path / "wise"
    world = build_eval(tmp_path / "world")
    r = run("wise-ft", "--zero-shot", zs, "--fine-tuned", ft, "--alpha", "0,0.5,1", "--model", MICRO,
            "--output", out, "--eval-data", world)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.glob("alpha_*.pt")) == ["alpha_0.5.pt", "alpha_0.pt", "alpha_1.pt"]
    for name in ("results.json", "results.md", "frontier.png", "summary.png"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["α=0", "α=0.5", "α=1"]
    assert results["wise_ft"]["alphas"] == {"α=0": 0, "α=0.5": 0.5, "α=1": 1}
    assert all("zeroshot" in m and "sugarcrepe" in m for m in results["models"].values())
    assert "| α=0.5 |" in (out / "results.md").read_text()


def test_wise_ft_refuses_two_architectures_in_one_line(tmp_path):
    zs, ft = checkpoint(tmp_path / "zs.pt"), checkpoint(tmp_path / "ft.pt", name="hqclip-tiny")
    r = run("wise-ft", "--zero-shot", zs, "--fine-tuned", ft, "--model", MICRO, "--output", tmp_path / "o")
    refused(r, "wise-ft", "not one architecture", "first difference at positional_embedding")
    assert not (tmp_path / "o").exists()


def test_export_writes_a_transformers_folder_and_a_failed_push_is_one_line(tmp_path, monkeypatch):
    from transformers import CLIPModel, CLIPProcessor

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_token")
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    ck = checkpoint(tmp_path / "ck.pt")
    out = tmp_path / "hf"
    r = run("export", "--model", MICRO, "--checkpoint", ck, "--output", out, "--push-to-hub", "me/micro")
    refused(r, "export", "--push-to-hub me/micro: the upload failed", f"the folder {out} is written")
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= {
        p.name for p in out.iterdir()
    }
    assert CLIPModel.from_pretrained(out).config.projection_dim == 64
    assert CLIPProcessor.from_pretrained(out).image_processor.crop_size["height"] == 32


@pytest.mark.parametrize(
    "model,needles",
    [
        ("hqclip-tiny-rn", ("hqclip-tiny-rn has a ResNet image tower", "transformers' CLIPModel cannot")),
        ("ViT-B-16-SigLIP", ("SigLIP-style logit bias",)),
        ("no-such-model", ("unknown model 'no-such-model'",)),
    ],
)
def test_export_refuses_what_transformers_cannot_express(tmp_path, model, needles):
    r = run("export", "--model", model, "--checkpoint", tmp_path / "none.pt", "--output", tmp_path / "o")
    refused(r, "export", *needles)
    assert not (tmp_path / "o").exists()


def test_export_refuses_a_push_without_token_or_offline_and_other_formats_before_any_work(
    tmp_path, monkeypatch
):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    args = ("--model", MICRO, "--checkpoint", tmp_path / "none.pt", "--output", tmp_path / "o")
    refused(run("export", *args, "--push-to-hub", "me/x"), "export", "no Hugging Face token", "hf auth login")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    refused(run("export", *args, "--push-to-hub", "me/x"), "export", "offline mode")
    refused(run("export", *args, "--format", "onnx"), "export", "--format onnx")
    refused(run("export", *args), "export", f"cannot load pretrained tag/file {tmp_path / 'none.pt'}")
