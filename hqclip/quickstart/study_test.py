import json

import pytest

from hqclip.quickstart.plan import Plan
from hqclip.quickstart.study import KINDS, ROWS, edit_kind, study


def test_edit_kind_names_the_changed_fact():
    assert edit_kind("a large red circle at the top.", "a large blue circle at the top.") == "color"
    assert edit_kind("a large red circle at the top.", "a large red star at the top.") == "shape"
    assert edit_kind("a large red circle at the top.", "a small red circle at the top.") == "size"
    assert edit_kind("a large red circle at the top.", "a large red circle in the center.") == "position"
    assert edit_kind("the red circle is left of the blue star.", "the red circle is right of the blue star.") == "relation"
    assert edit_kind("two shapes in total.", "three shapes in total.") == "count"


def test_study_refuses_the_reported_world(tmp_path):
    with pytest.raises(ValueError, match="tuning world"):
        study(Plan(), tmp_path)


@pytest.mark.slow
def test_study_trains_its_rows_and_probes(tmp_path):
    plan = Plan(world_seed=1000, train_samples=128, steps=2, batch_size=32, warmup=1,
                model="hqclip-micro", workers=0)
    rows = {r: ROWS[r] for r in ("+ HNI", "+ long desc + STC text head")}
    text = study(plan, tmp_path, rows=rows, probe_rows=("+ HNI",))
    report = json.loads((tmp_path / "report" / "study.json").read_text())
    assert set(report["metrics"]) == set(rows) and all(f"| {r} |" in text for r in rows)
    assert list(report["probe"]) == ["+ HNI"]
    for p in report["probe"].values():
        assert p["all"]["n"] == sum(p[k]["n"] for k in KINDS if k in p) > 0
        assert 0.0 <= p["all"]["acc"] <= 1.0
    assert (tmp_path / "report" / "probe.png").stat().st_size > 0
