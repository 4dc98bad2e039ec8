import json

import pytest

from hqclip.quickstart.plan import VARIANTS, Plan
from hqclip.quickstart.run import _same_config, run
from hqclip.train import TrainConfig


@pytest.mark.slow
def test_whole_cycle_runs_and_reports(tmp_path):
    plan = Plan(train_samples=128, steps=4, batch_size=32, warmup=1, model="hqclip-micro", workers=0,
                eval_scale=0.05, curve_points=2)
    text = run(plan, tmp_path)
    for v in VARIANTS:
        assert f"| {v} |" in text
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {c["claim"] for c in report["claims"]} >= {"HNI gain on compositional > seed spread"}
    assert all(c["holds"] is None for c in report["claims"])  # one seed: nothing is judged
    assert {p["variant"] for p in report["plateau"]} == set(VARIANTS)
    assert all(list(c["ZS top-1"]) == ["2", "4"] for c in report["curves"].values())
    assert set(report["blind"]) == {"training", "benchmark"} and "| benchmark | swap_att |" in text
    for f in ("quickstart.md", "ablation.png", "curves.png", "eval/results.json", "eval/results.md",
              "eval/summary.png"):
        assert (tmp_path / "report" / f).exists(), f
    again = run(plan, tmp_path)  # every stage cached: same table
    assert again.split("Times")[0] == text.split("Times")[0]


def test_a_run_recorded_before_a_new_option_still_matches_at_its_default():
    cfg = TrainConfig(train_data="w", output="o")
    recorded = cfg.to_dict()
    del recorded["alt_neg"]  # a done.json written before the option existed
    assert _same_config(recorded, cfg)
    assert not _same_config(recorded, TrainConfig(train_data="w", output="o", alt_neg=True))
    assert not _same_config({**recorded, "lr": 1.0}, cfg)
