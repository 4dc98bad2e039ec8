"""End-to-end runs of `hqclip.train.run` on the micro model (CPU, fixed seeds)."""

import json
from pathlib import Path

import open_clip
import pytest
import torch

from hqclip.train import TrainConfig, run
from hqclip.train.conftest import make_world
from hqclip.train.loader_test import FRESH


def _cfg(train_dir, sidecars, out, **kw):
    base = dict(
        train_data=str(train_dir),
        sidecars=str(sidecars),
        output=str(out),
        model="hqclip-micro",
        batch_size=8,
        workers=2,
        shuffle_buffer=16,
        warmup=2,
        lr=1e-3,
        log_every=1,
        save_every=1000,
        progress=False,
    )
    return TrainConfig(**{**base, **kw})


def _losses(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_resume_latest_continues_the_loss_curve_exactly(dataset, tmp_path):
    train_dir, sidecars = dataset  # 64 samples → 8 steps per epoch; the stop falls mid-epoch
    full = run(_cfg(train_dir, sidecars, tmp_path / "full", steps=11))
    run(_cfg(train_dir, sidecars, tmp_path / "cut", steps=11, stop_after=5))
    resumed = run(
        _cfg(train_dir, sidecars, tmp_path / "cut", steps=11, resume="latest", save_every=7, stop_after=8)
    )
    # as if killed after step 8: resume from step 7's checkpoint, the rows of step 8 are replaced
    resumed = run(
        _cfg(
            train_dir,
            sidecars,
            tmp_path / "cut",
            steps=11,
            resume=str(tmp_path / "cut" / "checkpoints" / "step_00000007.pt"),
        )
    )
    assert full["steps"] == resumed["steps"] == 11
    a, b = _losses(tmp_path / "full"), _losses(tmp_path / "cut")
    assert [r["step"] for r in b] == list(range(1, 12))
    for ra, rb in zip(a, b):
        for k in ("loss", "contrastive", "hni", "stc", "lr"):
            assert ra[k] == rb[k], (ra["step"], k)


@pytest.mark.slow
def test_short_run_on_world_lowers_every_term_and_counts_bad_input(tmp_path):
    world = make_world(tmp_path / "world", n=192, shard_size=32)
    train_dir, sidecars = world / "train", world / "sidecars"
    shards = sorted(train_dir.glob("*.tar"))
    shards[-1].write_bytes(shards[-1].read_bytes()[:50_000])  # truncated mid-shard
    (sidecars / (shards[-2].stem + ".parquet")).unlink()  # a shard without its sidecar
    (train_dir / "shard-999999.tar").write_bytes(b"not a tar at all" * 64)
    res = run(
        _cfg(
            train_dir,
            sidecars,
            tmp_path / "run",
            steps=40,
            batch_size=16,
            train_num_samples=128,
            log_every=1,
            shuffle_buffer=64,
        )
    )
    rows = _losses(tmp_path / "run")
    for k in ("contrastive", "hni", "stc"):
        first = sum(r[k] for r in rows[:5]) / 5
        last = sum(r[k] for r in rows[-5:]) / 5
        assert last < first, (k, first, last)
    counts = res["counts"]
    assert counts["shard_without_sidecar"] == 2  # the missing sidecar and the non-tar
    assert counts["unreadable_shard"] >= 1 and counts["truncated_shard"] >= 1
    assert counts["fallback_alt"] > 0

    # the checkpoint is an open_clip checkpoint
    model, _, preprocess = open_clip.create_model_and_transforms("hqclip-micro", pretrained=res["checkpoint"])
    state = torch.load(res["checkpoint"], weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state["state_dict"][k]), k
    assert (tmp_path / "run" / "hqclip-micro.json").exists()
    assert any((tmp_path / "run" / "tensorboard").iterdir())


@pytest.mark.slow
def test_cli_trains_with_the_linear_head_and_grad_checkpointing(dataset, tmp_path):
    from typer.testing import CliRunner

    from hqclip.cli.main import app

    train_dir, sidecars = dataset
    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        [
            "train",
            "--train-data",
            str(train_dir),
            "--sidecars",
            str(sidecars),
            "--output",
            str(out),
            "--model",
            "hqclip-micro",
            "--batch-size",
            "8",
            "--steps",
            "3",
            "--stc-head",
            "linear",
            "--neg-swap",
            "all",
            "--text-mix",
            "alt=0,desc=1",
            "--workers",
            "0",
            "--grad-checkpointing",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output[r.output.index("{") :])["steps"] == 3
    state = torch.load(out / "checkpoints" / "latest.pt", weights_only=True)
    assert state["vocab"] and "stc_linear.weight" in state["heads"]


@pytest.mark.slow
def test_fresh_run_losses_equal_those_of_the_pre_change_loop(tmp_path):
    """Per-step losses of two short runs on a world (linear STC head over 2 workers; text head,
    resampled, 1 worker) equal those recorded from main at 922a41d, before per-shard annotations,
    vocab.json and resumable positions: fresh runs train exactly as before."""
    world = make_world(tmp_path / "world", n=192, shard_size=32)
    for name, want in json.loads(FRESH.read_text()).items():
        out = tmp_path / name
        run(TrainConfig(train_data=str(world), output=str(out), **want["config"]))
        got = _losses(out)
        assert [r["step"] for r in got] == [r["step"] for r in want["steps"]]
        for g, w in zip(got, want["steps"]):
            for k in ("loss", "contrastive", "hni", "stc"):
                assert g[k] == pytest.approx(w[k], rel=1e-5, abs=1e-6), (name, g["step"], k)


@pytest.mark.slow
def test_world_exported_and_reimported_trains_to_the_same_losses(tmp_path):
    """refine → export-vlm150m → import-vlm150m against the world's shards gives sidecars (and a
    vocab.json) that train exactly as the refined ones."""
    from hqclip.data.vlm150m import export_vlm150m
    from hqclip.vlm150m.importer import import_vlm150m

    world = make_world(tmp_path / "world", n=192, shard_size=32)
    export_vlm150m(world / "sidecars", tmp_path / "release")
    import_vlm150m(tmp_path / "release", world, tmp_path / "imported", progress=False)
    vocab = [
        json.loads((d / "vocab.json").read_text())["tags"]
        for d in (world / "sidecars", tmp_path / "imported")
    ]
    assert vocab[0] == vocab[1]
    kw = dict(steps=6, batch_size=16, workers=1, shuffle_buffer=32, stc_head="linear")
    run(_cfg(world / "train", world / "sidecars", tmp_path / "a", **kw))
    run(_cfg(world / "train", tmp_path / "imported", tmp_path / "b", **kw))
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert len(a) == len(b) == 6
    for ra, rb in zip(a, b):
        for k in ("loss", "contrastive", "hni", "stc"):
            assert ra[k] == rb[k], (ra["step"], k)


def test_a_resumed_run_keeps_the_rows_up_to_its_checkpoint_and_drops_a_torn_one(tmp_path):
    from hqclip.train.loop import _kept_metrics

    path = tmp_path / "metrics.jsonl"
    rows = "".join(json.dumps({"step": i, "loss": 1.0}) + "\n" for i in (1, 2, 3, 4))
    path.write_text(rows + '{"step": 5, "lo')  # killed mid-write
    assert [json.loads(r)["step"] for r in _kept_metrics(path, 3).splitlines()] == [1, 2, 3]
    assert _kept_metrics(path, 0) == "" and _kept_metrics(tmp_path / "none.jsonl", 3) == ""


def test_a_run_that_fails_closes_its_log_and_keeps_the_rows_written(dataset, tmp_path, monkeypatch):
    from hqclip.train import loop

    real, close, calls, closed = loop.step, loop.SummaryWriter.close, [], []

    def failing(s, batch):
        calls.append(s.step)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real(s, batch)

    monkeypatch.setattr(loop, "step", failing)
    monkeypatch.setattr(loop.SummaryWriter, "close", lambda self: closed.append(close(self)))
    train_dir, sidecars = dataset
    with pytest.raises(RuntimeError, match="boom"):
        run(_cfg(train_dir, sidecars, tmp_path / "run", steps=6, workers=0))
    assert [r["step"] for r in _losses(tmp_path / "run")] == [1, 2] and len(closed) == 1
    assert json.loads((tmp_path / "run" / "config.json").read_text())["steps"] == 6


def test_resume_under_another_precision_continues(dataset, tmp_path):
    """A bf16 checkpoint (its GradScaler state empty) resumes under fp16, and that one under bf16."""
    train_dir, sidecars = dataset
    out = tmp_path / "run"
    for steps, precision in ((1, "bf16"), (2, "fp16"), (3, "bf16")):
        kw = dict(steps=steps, workers=0, precision=precision, resume="latest")
        assert run(_cfg(train_dir, sidecars, out, **kw))["steps"] == steps
    state = torch.load(out / "checkpoints" / "step_00000002.pt", weights_only=True)
    assert state["scaler"] and state["data"]["per_epoch"] == 8


@pytest.mark.parametrize("head", ["text", "linear"])
def test_between_log_steps_the_model_loss_and_log_read_nothing_back(dataset, tmp_path, monkeypatch, head):
    """The forward, the loss and the step's logging read no value back from the tensors (on a GPU
    each read is a wait for it): negatives' indices and text lengths come with the batch, the loss
    terms are summed where they are and read at log steps only."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from hqclip.train import loop
    from hqclip.train.loss import HQCLIPLoss
    from hqclip.train.module import HQCLIPModule

    reads = []

    class Reads(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default):
                reads.append(str(func))
            return func(*args, **(kwargs or {}))

    def watched(fn):
        def call(*a, **kw):
            with Reads():
                return fn(*a, **kw)

        return call

    for cls, name in ((HQCLIPModule, "forward"), (HQCLIPLoss, "forward"), (loop.RunLog, "add")):
        monkeypatch.setattr(cls, name, watched(getattr(cls, name)))
    train_dir, sidecars = dataset
    run(_cfg(train_dir, sidecars, tmp_path / "run", steps=2, log_every=2, workers=0, stc_head=head))
    assert reads == ["aten._local_scalar_dense.default"]  # step 2 logs the logit scale
