import json

import pytest

from hqclip.quickstart.plan import Plan
from hqclip.quickstart.study import KINDS, ROWS, _text_only, edit_kind, study


def test_edit_kind_names_the_changed_fact():
    assert edit_kind("a large red circle at the top.", "a large blue circle at the top.") == "color"
    assert edit_kind("a large red circle at the top.", "a large red star at the top.") == "shape"
    assert edit_kind("a large red circle at the top.", "a small red circle at the top.") == "size"
    assert edit_kind("a large red circle at the top.", "a large red circle in the center.") == "position"
    assert edit_kind("the red circle is left of the blue star.", "the red circle is right of the blue star.") == "relation"
    assert edit_kind("two shapes in total.", "three shapes in total.") == "count"


def test_text_only_probe_finds_a_textual_shortcut_and_only_that():
    # count pairs differ along one fixed direction (a shortcut); colour pairs differ at random
    import torch

    g = torch.Generator().manual_seed(0)
    shortcut = torch.zeros(16)
    shortcut[3] = 1.0
    diffs, kinds = [], []
    for i in range(800):
        noise = torch.randn(16, generator=g)
        diffs.append(noise * 0.1 + shortcut if i % 2 else noise)
        kinds.append("count" if i % 2 else "color")
    out = _text_only(diffs, kinds)
    assert out["count"]["acc"] > 0.95 and 0.4 < out["color"]["acc"] < 0.6
    assert out["all"]["n"] == out["count"]["n"] + out["color"]["n"] == 400


def test_study_refuses_the_reported_world(tmp_path):
    with pytest.raises(ValueError, match="tuning world"):
        study(Plan(), tmp_path)


@pytest.mark.slow
def test_study_trains_its_rows_and_probes(tmp_path):
    plan = Plan(world_seed=1000, train_samples=128, steps=2, batch_size=32, warmup=1,
                model="hqclip-micro", workers=0, seeds=(0, 1))
    rows = {r: ROWS[r] for r in ("+ HNI", "+ long desc + STC text head")}
    text = study(plan, tmp_path, rows=rows, probe_rows=("+ HNI",))
    report = json.loads((tmp_path / "report" / "study.json").read_text())
    assert set(report["metrics"]) == set(report["std"]) == set(rows) and report["seeds"] == [0, 1]
    assert all(f"| {r} |" in text for r in rows) and "seeds 0, 1 (mean ± std" in text
    assert len(list((tmp_path / "models").iterdir())) == 4  # every row for every seed
    assert list(report["probe"]) == ["image", "text only"]
    for which in report["probe"].values():
        assert list(which) == ["+ HNI"]
        for p in which.values():
            assert p["all"]["n"] == sum(p[k]["n"] for k in KINDS if k in p) > 0
            assert 0.0 <= p["all"]["acc"] <= 1.0
    assert (tmp_path / "report" / "probe.png").stat().st_size > 0
