import json

import pytest

from hqclip.quickstart.plan import Plan
from hqclip.quickstart.study import ROWS, study


def test_study_refuses_the_reported_world(tmp_path):
    with pytest.raises(ValueError, match="tuning world"):
        study(Plan(), tmp_path)


@pytest.mark.slow
def test_study_trains_its_rows_for_every_seed(tmp_path):
    plan = Plan(world_seed=1000, train_samples=128, steps=2, batch_size=32, warmup=1,
                model="hqclip-micro", workers=0, seeds=(0, 1), eval_scale=0.05, curve_points=1,
                parallel=1)
    rows = {r: ROWS[r] for r in ("+ HNI", "HQ-CLIP, STC text head")}
    text = study(plan, tmp_path, rows=rows)
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {g["variant"] for g in report["groups"]} == set(rows)
    assert all(f"| {r} |" in text for r in rows) and "± " in text
    assert len(list((tmp_path / "models").iterdir())) == 4  # every row for every seed
