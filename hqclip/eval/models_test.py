"""Model specs, and the errors a user sees before any work for models that cannot be evaluated."""

from __future__ import annotations

import json

import open_clip
import pytest
import torch

from hqclip.errors import UserError
from hqclip.eval.evaluation import resolve_models
from hqclip.eval.models import ModelSpec, weights_hash


@pytest.mark.parametrize("text,expect", [
    ("ViT-B-32", ModelSpec("ViT-B-32", "ViT-B-32", None)),
    ("ViT-B-32:laion2b_s34b_b79k", ModelSpec("ViT-B-32:laion2b_s34b_b79k", "ViT-B-32", "laion2b_s34b_b79k")),
    ("base=tiny:runs/a/checkpoints/epoch_latest.pt",
     ModelSpec("base", "tiny", "runs/a/checkpoints/epoch_latest.pt")),
    ("tiny:/x/a=b.pt", ModelSpec("tiny:a=b.pt", "tiny", "/x/a=b.pt")),
    ("mine=hf-hub:org/repo", ModelSpec("mine", "hf-hub:org/repo", None)),
    ("local-dir:/m", ModelSpec("local-dir:/m", "local-dir:/m", None)),
])
def test_spec_parse(text, expect):
    assert ModelSpec.parse(text) == expect


@pytest.mark.parametrize("text", ["=tiny", "tiny:", ""])
def test_spec_parse_rejects(text):
    with pytest.raises(UserError, match="expected"):
        ModelSpec.parse(text)


def test_unknown_model_or_checkpoint_is_clear(tiny_model_name, tmp_path):
    with pytest.raises(UserError, match="unknown open_clip model 'no-such-model'"):
        resolve_models(["no-such-model"])
    with pytest.raises(UserError, match=f"cannot load pretrained tag/file {tmp_path}/none.pt"):
        resolve_models([f"{tiny_model_name}:{tmp_path}/none.pt"])


def test_tokenizer_of_another_model_is_refused(tiny_model_name):
    model, _, preprocess = open_clip.create_model_and_transforms(tiny_model_name)
    wrong = open_clip.get_tokenizer("ViT-B-32")  # context length 77, the tiny model has 16
    with pytest.raises(UserError, match="context length 77 != model context length 16"):
        resolve_models({"x": (model, preprocess, wrong)})


def test_checkpoint_of_another_model_is_refused(tiny_model_name, tmp_path):
    other = open_clip.create_model("RN50", pretrained=None)
    path = tmp_path / "rn50.pt"
    torch.save({"state_dict": other.state_dict()}, path)
    with pytest.raises(UserError, match=f"cannot load checkpoint {path} into {tiny_model_name}"):
        resolve_models([f"{tiny_model_name}:{path}"])


def test_seeded_random_init_and_checkpoint_weights_hashes(tiny_model_name, tmp_path):
    a, b = resolve_models([f"a={tiny_model_name}", f"b={tiny_model_name}"])
    assert weights_hash(a) == weights_hash(b)
    [c] = resolve_models([f"c={tiny_model_name}"], seed=1)
    assert weights_hash(c) != weights_hash(a)
    torch.save({"epoch": 1, "state_dict": c.model.state_dict()}, tmp_path / "c.pt")
    [d] = resolve_models([f"{tiny_model_name}:{tmp_path / 'c.pt'}"])
    assert d.label == f"{tiny_model_name}:c.pt" and weights_hash(d) == weights_hash(c)


def test_config_written_beside_a_training_run_is_registered(tmp_path):
    from hqclip.eval.conftest import TINY_CFG

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "hqclip-eval-run.json").write_text(json.dumps(TINY_CFG))  # what `hqclip train` writes
    assert "hqclip-eval-run" not in open_clip.list_models()
    model = open_clip.CLIP(**TINY_CFG)
    torch.save({"state_dict": model.state_dict(), "step": 3}, run / "checkpoints/latest.pt")
    [m] = resolve_models([f"hqclip-eval-run:{run / 'checkpoints/latest.pt'}"])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in m.model.state_dict().items())
