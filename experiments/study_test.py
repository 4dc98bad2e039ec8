import pytest

from experiments.study import ROWS, study
from hqclip.quickstart.plan import Plan
from hqclip.quickstart.run import jobs


def test_study_refuses_the_reported_world(tmp_path):
    with pytest.raises(ValueError, match="tuning world"):
        study(Plan(), tmp_path)


def test_study_trains_its_rows_for_every_seed(tmp_path):
    plan = Plan(world_seed=1000, seeds=(0, 1))
    rows = {r: ROWS[r] for r in ("+ HNI", "HQ-CLIP, STC text head")}
    runs = jobs(plan, tmp_path, rows)
    assert [(r["variant"], r["seed"]) for r in runs] == [(v, s) for s in (0, 1) for v in rows]
    cfgs = [r["job"].config(plan, tmp_path / "world", tmp_path) for r in runs]
    assert len({c.output for c in cfgs}) == 4  # a model of its own for every row and seed
    assert [c.stc_head for c in cfgs[:2]] == ["linear", "text"] and {c.seed for c in cfgs} == {0, 1}
