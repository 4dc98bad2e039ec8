import dataclasses
import json

import pytest

from hqclip.quickstart import converged as conv
from hqclip.quickstart.plan import FINAL, VARIANTS, Plan
from hqclip.train import TrainConfig


def _rounds(monkeypatch, plateaus_at: int | None):
    """Rounds that plateau from `plateaus_at` steps on (None: never); records the plans trained."""
    seen = []

    def fake(plan, tuning, rows):
        seen.append(plan)
        return [
            {"variant": v, "family": "ZS top-1", "plateaued": plan.steps >= (plateaus_at or 1e9)}
            for v in rows
        ]

    monkeypatch.setattr(conv, "_round", fake)
    return seen


@pytest.mark.parametrize("plateaus_at, chosen", [(100, 100), (400, 400), (300, 400), (None, 1600)])
def test_steps_double_on_the_tuning_world_until_every_row_plateaus_or_the_cap(
    tmp_path, monkeypatch, plateaus_at, chosen
):
    seen = _rounds(monkeypatch, plateaus_at)
    plan = Plan(steps=100, finetune_steps=50, seeds=(0, 1, 2), cycle=True)
    steps, history = conv.choose_steps(plan, tmp_path)
    assert steps == chosen and [h["steps"] for h in history] == [p.steps for p in seen]
    assert [p.finetune_steps for p in seen] == [p.steps // 2 for p in seen]  # the fine-tunes doubled alike
    assert [p.steps for p in seen] == [100 * 2**i for i in range(len(seen))] and seen[-1].steps == chosen
    assert all(p.world_seed == conv.TUNING_WORLD and not p.cycle and p.seeds == (0, 1, 2) for p in seen)
    assert history[-1]["plateaued"] == (plateaus_at is not None)


def test_one_seed_cannot_judge_a_plateau(tmp_path):
    with pytest.raises(ValueError, match="two seeds"):
        conv.choose_steps(Plan(), tmp_path)


@pytest.mark.skipif(
    "device" not in {f.name for f in dataclasses.fields(TrainConfig)}, reason="TrainConfig has no device"
)
def test_the_plans_device_reaches_training(tmp_path):
    from hqclip.quickstart.run import jobs

    plan = Plan(device="cuda")
    assert {r["job"].config(plan, tmp_path, tmp_path).device for r in jobs(plan, tmp_path)} == {"cuda"}


@pytest.mark.slow
def test_the_converged_plan_runs_end_to_end_at_tiny_size(tmp_path, monkeypatch):
    monkeypatch.setattr(conv, "DOUBLINGS", 0)  # one tuning round (the doubling is tested above)
    plan = Plan(
        train_samples=128,
        steps=2,
        finetune_steps=2,
        batch_size=32,
        warmup=1,
        model="hqclip-micro",
        eval_scale=0.05,
        curve_points=2,
        seeds=(0, 1),
    )
    rows = {v: VARIANTS[v] for v in ("alt-text CLIP", FINAL)}
    text = conv.converged(plan, tmp_path, rows)
    chosen = json.loads((tmp_path / "report" / "converged.json").read_text())
    assert chosen["steps"] == chosen["finetune_steps"] == 2 and [r["steps"] for r in chosen["rounds"]] == [2]
    assert {(p["variant"], p["family"]) for p in chosen["rounds"][0]["plateau"]} == {
        (v, f) for v in rows for f in ("ZS top-1", "retrieval R@1", "SugarCrepe")
    }
    assert json.loads((tmp_path / "tuning" / "world" / "world.json").read_text())["config"]["seed"] == 1000
    assert json.loads((tmp_path / "world" / "world.json").read_text())["config"]["seed"] == 0
    for m in (tmp_path / "models").iterdir():  # the reported world, trained for the chosen steps
        assert (m / "checkpoints" / f"step_{chosen['steps']:08d}.pt").exists()
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert all(c["holds"] is not None for c in report["claims"] if c["n"])  # two seeds: judged
    assert f"Chosen: {chosen['steps']} steps" in text and (tmp_path / "report" / "converged.md").exists()
