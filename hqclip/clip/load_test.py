"""Model specs, and the errors a user sees before any work for models that cannot be loaded."""

from __future__ import annotations

import json

import open_clip
import pytest
import torch

from hqclip.clip.configs import CONFIG_DIR
from hqclip.clip.load import Loaded, ModelSpec, check_compatible, load, weights_hash
from hqclip.errors import UserError

MICRO = "hqclip-micro"  # hqclip's own config: load registers it


def loaded(*specs: str, seed: int = 0) -> list[Loaded]:
    return [load(ModelSpec.parse(s), seed=seed) for s in specs]


@pytest.mark.parametrize(
    "text,expect",
    [
        ("ViT-B-32", ModelSpec("ViT-B-32", "ViT-B-32", None)),
        (
            "ViT-B-32:laion2b_s34b_b79k",
            ModelSpec("ViT-B-32:laion2b_s34b_b79k", "ViT-B-32", "laion2b_s34b_b79k"),
        ),
        (
            "base=tiny:runs/a/checkpoints/epoch_latest.pt",
            ModelSpec("base", "tiny", "runs/a/checkpoints/epoch_latest.pt"),
        ),
        ("tiny:/x/a=b.pt", ModelSpec("tiny:a=b.pt", "tiny", "/x/a=b.pt")),
        ("mine=hf-hub:org/repo", ModelSpec("mine", "hf-hub:org/repo", None)),
        ("local-dir:/m", ModelSpec("local-dir:/m", "local-dir:/m", None)),
    ],
)
def test_spec_parse(text, expect):
    assert ModelSpec.parse(text) == expect


@pytest.mark.parametrize("text", ["=tiny", "tiny:", ""])
def test_spec_parse_rejects(text):
    with pytest.raises(UserError, match="expected"):
        ModelSpec.parse(text)


def test_unknown_model_or_checkpoint_is_clear(tmp_path):
    with pytest.raises(UserError, match="unknown open_clip model 'no-such-model'"):
        loaded("no-such-model")
    with pytest.raises(UserError, match=f"cannot load pretrained tag/file {tmp_path}/none.pt"):
        loaded(f"{MICRO}:{tmp_path}/none.pt")


def test_tokenizer_of_another_model_is_refused():
    [m] = loaded(MICRO)
    wrong = open_clip.tokenizer.SimpleTokenizer(context_length=16)  # the model's is 77
    with pytest.raises(UserError, match="context length 16 != model context length 77"):
        check_compatible(Loaded("x", m.model, m.preprocess, wrong))


def test_checkpoint_of_another_model_is_refused(tmp_path):
    other = open_clip.create_model("RN50", pretrained=None)
    path = tmp_path / "rn50.pt"
    torch.save({"state_dict": other.state_dict()}, path)
    with pytest.raises(UserError, match=f"cannot load checkpoint {path} into {MICRO}"):
        loaded(f"{MICRO}:{path}")


def test_seeded_random_init_and_checkpoint_weights_hashes(tmp_path):
    a, b = loaded(f"a={MICRO}", f"b={MICRO}")
    assert weights_hash(a) == weights_hash(b)
    [c] = loaded(f"c={MICRO}", seed=1)
    assert weights_hash(c) != weights_hash(a)
    torch.save({"epoch": 1, "state_dict": c.model.state_dict()}, tmp_path / "c.pt")
    [d] = loaded(f"{MICRO}:{tmp_path / 'c.pt'}")
    assert d.label == f"{MICRO}:c.pt" and weights_hash(d) == weights_hash(c)


def test_config_written_beside_a_training_run_is_registered(tmp_path):
    cfg = json.loads((CONFIG_DIR / f"{MICRO}.json").read_text())
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "hqclip-clip-run.json").write_text(json.dumps(cfg))  # what `hqclip train` writes
    assert "hqclip-clip-run" not in open_clip.list_models()
    model = open_clip.CLIP(**cfg)
    torch.save({"state_dict": model.state_dict(), "step": 3}, run / "checkpoints/latest.pt")
    [m] = loaded(f"hqclip-clip-run:{run / 'checkpoints/latest.pt'}")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in m.model.state_dict().items())
