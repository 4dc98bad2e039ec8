import json

import pytest

from hqclip.quickstart.plan import VARIANTS, Plan
from hqclip.quickstart.run import run


@pytest.mark.slow
def test_whole_cycle_runs_and_reports(tmp_path):
    plan = Plan(train_samples=128, steps=2, batch_size=32, warmup=1, model="hqclip-micro", workers=0)
    text = run(plan, tmp_path)
    for v in VARIANTS:
        assert f"| {v} |" in text
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {c["claim"] for c in report["claims"]} >= {"HNI gain on compositional > seed spread"}
    assert all(c["holds"] is None for c in report["claims"])  # one seed: nothing is judged
    for f in ("quickstart.md", "ablation.png", "eval/results.json", "eval/results.md", "eval/summary.png"):
        assert (tmp_path / "report" / f).exists(), f
    again = run(plan, tmp_path)  # every stage cached: same table
    assert again.split("Times")[0] == text.split("Times")[0]
