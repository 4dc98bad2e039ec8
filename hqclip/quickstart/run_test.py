import json

import pytest

from hqclip.quickstart.cycle import ROWS
from hqclip.quickstart.plan import CONTROLS, VARIANTS, Plan
from hqclip.quickstart.run import _same_config, run
from hqclip.train import TrainConfig


@pytest.mark.slow
def test_whole_cycle_runs_and_reports(tmp_path):
    plan = Plan(train_samples=128, steps=4, batch_size=32, warmup=1, model="hqclip-micro", workers=0,
                eval_scale=0.05, curve_points=2, controls=True, cycle=True)
    text = run(plan, tmp_path)
    for v in VARIANTS:
        assert f"| {v} |" in text
    for name in CONTROLS:  # evaluated under their labels (which hold a colon)
        assert f"| {name} |" in text and "not judged (1 seed)" in text
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {c["claim"] for c in report["claims"]} >= {"HNI gain on compositional > seed spread"}
    assert all(c["holds"] is None for c in report["claims"])  # one seed: nothing is judged
    assert {p["variant"] for p in report["plateau"]} == set(VARIANTS)
    assert all(list(c["ZS top-1"]) == ["2", "4"] for c in report["curves"].values())
    assert set(report["blind"]) == {"training", "benchmark"} and "| benchmark | swap_att |" in text
    for f in ("quickstart.md", "ablation.png", "curves.png", "eval/results.json", "eval/results.md",
              "eval/summary.png"):
        assert (tmp_path / "report" / f).exists(), f
    # one turn of the cycle: both scorers, both filters, its three rows, in its own report and ours
    turn = json.loads((tmp_path / "report" / "cycle" / "cycle.json").read_text())
    assert turn["error"] == 0.3 and set(turn["detection"]) == {"HQ-CLIP", "alt-text CLIP"}
    for d in turn["detection"].values():
        assert d["sentences"] > d["wrong"] > 0 and 0 <= d["auroc"]["margin"] <= 1
    assert set(turn["filter"]) == {"HQ-CLIP", "the truth"} and list(turn["eval"]) == list(ROWS)
    assert "| HQ-CLIP, filtered by HQ-CLIP |" in text and "| gain: filtered by the truth |" in text
    for f in ("cycle.md", "cycle.png", "eval/results.json"):
        assert (tmp_path / "report" / "cycle" / f).exists(), f
    again = run(plan, tmp_path)  # every stage cached: same tables, the cycle's included
    assert again.split("Times")[0] == text.split("Times")[0]


def test_a_run_recorded_before_a_new_option_still_matches_at_its_default():
    cfg = TrainConfig(train_data="w", output="o")
    recorded = cfg.to_dict()
    del recorded["alt_neg"]  # a done.json written before the option existed
    assert _same_config(recorded, cfg)
    assert not _same_config(recorded, TrainConfig(train_data="w", output="o", alt_neg=True))
    assert not _same_config({**recorded, "lr": 1.0}, cfg)
