"""Fine-tuning from each form of --pretrained (a checkpoint file, an hf-hub: repo from an offline hub
cache, an open_clip tag), with locked towers left bit-identical."""

import json
from pathlib import Path

import pytest
import torch

from hqclip.clip.configs import create, model_config
from hqclip.errors import UserError
from hqclip.train import TrainConfig, run
from hqclip.train.checkpoint import load
from hqclip.train.loop_test import _cfg as loop_cfg


def _cfg(dataset, out: Path, **kw) -> TrainConfig:
    """loop_test's micro-model run, in the training process, 2 steps."""
    return loop_cfg(*dataset, out, **{"workers": 0, "shuffle_buffer": 8, "steps": 2, "warmup": 1, **kw})


def _start() -> dict[str, torch.Tensor]:
    torch.manual_seed(123)  # not the run's seed: the run must start from these weights, not its own init
    return create("hqclip-micro")[0].state_dict()


def _start_file(tmp_path: Path) -> tuple[dict[str, torch.Tensor], Path]:
    start, path = _start(), tmp_path / "start.pt"
    torch.save({"state_dict": start}, path)
    return start, path


def _trained(res: dict) -> dict[str, torch.Tensor]:
    return load(Path(res["checkpoint"]))["state_dict"]


def test_checkpoint_start_with_locked_towers_leaves_locked_weights_bit_identical(dataset, tmp_path):
    start, path = _start_file(tmp_path)
    res = run(
        _cfg(
            dataset,
            tmp_path / "run",
            pretrained=str(path),
            lock_image=True,
            lock_text=True,
            lock_text_unlocked_layers=1,
            lock_text_freeze_layer_norm=True,
        )
    )
    end = _trained(res)
    moved = {k for k in start if not torch.equal(start[k], end[k])}
    assert moved == {"text_projection", "logit_scale"}  # the last text group; logit_scale is no tower's
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]


def _hub_cache(root: Path, repo: str, state: dict) -> None:
    """The layout huggingface_hub keeps downloads in: refs/main names a snapshot of the repo's files."""
    folder = root / f"models--{repo.replace('/', '--')}"
    rev = "0" * 40
    snap = folder / "snapshots" / rev
    snap.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(rev)
    config = {"model_cfg": model_config("hqclip-micro"), "preprocess_cfg": {}}
    (snap / "open_clip_config.json").write_text(json.dumps(config))
    torch.save(state, snap / "open_clip_pytorch_model.bin")


@pytest.fixture
def offline_hub(tmp_path, monkeypatch) -> Path:
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_hf_hub_start_takes_architecture_and_weights_from_the_hub(dataset, tmp_path, offline_hub):
    start = _start()
    _hub_cache(offline_hub, "someone/micro-clip", start)
    out = tmp_path / "run"
    res = run(
        _cfg(
            dataset,
            out,
            model="not-used",
            pretrained="hf-hub:someone/micro-clip",
            lock_image=True,
            lock_text=True,
            lock_text_freeze_layer_norm=True,
        )
    )
    end = _trained(res)
    assert {k for k in start if not torch.equal(start[k], end[k])} == {"logit_scale"}
    config = json.loads((out / "config.json").read_text())
    assert (config["model"], config["pretrained"]) == ("hf-hub:someone/micro-clip", None)
    assert json.loads((out / "someone-micro-clip.json").read_text()) == model_config("hqclip-micro")


def test_hf_hub_repo_missing_offline_is_one_line(dataset, tmp_path, offline_hub):
    with pytest.raises(UserError, match="hf-hub:someone/absent: cannot read its open_clip_config.json"):
        run(_cfg(dataset, tmp_path / "run", pretrained="hf-hub:someone/absent"))


def test_an_unknown_tag_is_refused_with_the_models_tags(dataset, tmp_path):
    with pytest.raises(UserError, match="no such checkpoint file, and not an open_clip tag of ViT-B-32 "):
        run(_cfg(dataset, tmp_path / "run", model="ViT-B-32", pretrained="nope"))


def test_a_known_tag_loads_through_open_clip_and_fails_offline_in_one_line(dataset, tmp_path, offline_hub):
    with pytest.raises(UserError, match="cannot load laion2b_s34b_b79k into ViT-B-32: "):
        run(_cfg(dataset, tmp_path / "run", model="ViT-B-32", pretrained="laion2b_s34b_b79k"))


def test_a_checkpoint_of_another_architecture_is_one_line(dataset, tmp_path):
    path = tmp_path / "rn.pt"
    torch.save({"state_dict": create("hqclip-tiny-rn")[0].state_dict()}, path)
    with pytest.raises(UserError, match=f"cannot load {path} into hqclip-micro: "):
        run(_cfg(dataset, tmp_path / "run", pretrained=str(path)))


def test_two_ranks_train_with_locked_towers_and_eval_every(dataset, tmp_path):
    """Under DDP (gloo, 2 ranks) locked parameters need no find_unused_parameters, and rank 0
    evaluates while rank 1 waits at the barrier."""
    from hqclip.eval.conftest import build_eval
    from hqclip.train.ddp_test import _two_ranks

    start, path = _start_file(tmp_path)
    world = build_eval(tmp_path / "eval-world")
    out = tmp_path / "run"
    cfg = _cfg(
        dataset,
        out,
        batch_size=4,
        pretrained=str(path),
        lock_image=True,
        lock_text=True,
        lock_text_unlocked_layers=1,
        lock_text_freeze_layer_norm=True,
        eval_every=2,
        eval_data=str(world),
        device="cpu",  # several processes without a GPU need it said
    )
    _two_ranks(cfg)
    end = load(out / "checkpoints" / "latest.pt")["state_dict"]
    assert {k for k in start if not torch.equal(start[k], end[k])} == {"text_projection", "logit_scale"}
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval" in r] == [0, 2]


def test_a_resume_with_other_lock_options_is_refused(dataset, tmp_path):
    run(_cfg(dataset, tmp_path / "run", steps=2, stop_after=1, lock_image=True))
    with pytest.raises(UserError, match="trained with --lock-image True; resume with the same lock options"):
        run(_cfg(dataset, tmp_path / "run", steps=2, resume="latest"))
    assert run(_cfg(dataset, tmp_path / "run", steps=2, resume="latest", lock_image=True))["steps"] == 2
