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
    # both fine-tune the same seed's alt-text CLIP, trained though the rows do not list it
    assert cfgs[0].pretrained == cfgs[1].pretrained != cfgs[2].pretrained
    assert "alt-text-clip-err0-1-seed0" in cfgs[0].pretrained
