import json

import pytest

from hqclip.quickstart.cycle import ERROR, ROWS, unfiltered_jobs
from hqclip.quickstart.plan import CONTROL_VARIANT, CONTROLS, FINAL, VARIANTS, Plan
from hqclip.quickstart.run import jobs, run
from hqclip.quickstart.stages import sidecars_dir


def test_the_plain_plan_trains_the_four_rows_once(tmp_path):
    plan = Plan()
    runs = jobs(plan, tmp_path)
    assert [(r["variant"], r["seed"], r["error"]) for r in runs] == [(v, 0, 0.1) for v in VARIANTS]
    cfgs = [r["job"].config(plan, tmp_path / "world", tmp_path) for r in runs]
    assert {c.sidecars for c in cfgs} == {str(sidecars_dir(tmp_path, 0.1))}
    assert [c.save_every for c in cfgs] == [250] * 4  # four checkpoints each: the learning curves


def test_the_full_plan_adds_seeds_error_rates_and_controls(tmp_path):
    plan = Plan(seeds=(0, 1, 2), error_study=True, controls=True, cycle=True)
    runs = jobs(plan, tmp_path)
    per_seed = [*((v, 0.1) for v in VARIANTS), (FINAL, 0.0), (FINAL, 0.3), *((c, 0.0) for c in CONTROLS)]
    assert [(r["variant"], r["error"]) for r in runs] == per_seed * 3
    assert [r["seed"] for r in runs] == [s for s in (0, 1, 2) for _ in per_seed]
    cfgs = {
        (r["variant"], r["error"], r["seed"]): r["job"].config(plan, tmp_path / "world", tmp_path)
        for r in runs
    }
    assert len({c.output for c in cfgs.values()}) == len(runs)  # a model folder of its own each
    for (variant, error, seed), c in cfgs.items():
        assert c.seed == seed
        if variant in CONTROLS:  # "+ HNI" on a perfect captioner's negatives of the subset's kind
            assert c.sidecars == str(sidecars_dir(tmp_path, 0.0, (CONTROLS[variant],)))
            assert c.hni_weight == VARIANTS[CONTROL_VARIANT]["hni_weight"] and c.stc_weight == 0
        else:
            assert c.sidecars == str(sidecars_dir(tmp_path, error))
        assert c.save_every == (250 if error == plan.error else 1000)  # curves for the ablation only


def test_rows_replace_the_ablation_rows_not_the_rest(tmp_path):
    plan = Plan(controls=True)
    rows = {"mine": {"hni_weight": 0.5}}
    assert [r["variant"] for r in jobs(plan, tmp_path, rows)] == ["mine", *CONTROLS]


def _configs(plan, out, js):
    return {json.dumps(j.config(plan, out / "world", out).to_dict(), sort_keys=True) for j in js}


@pytest.mark.parametrize(
    "plan, shared",
    [
        (Plan(seeds=(0, 1, 2), error_study=True, controls=True, cycle=True), 3),  # HQ-CLIP at 30 %
        (Plan(error=0.3, cycle=True), 2),  # and the alt-text scorer
    ],
)
def test_the_cycle_reuses_the_plans_own_models_at_its_error(tmp_path, plan, shared):
    unfiltered, scorers = unfiltered_jobs(plan, sidecars_dir(tmp_path, ERROR))
    assert [j.seed for j in unfiltered] == list(plan.seeds) and scorers["HQ-CLIP"] is unfiltered[0]
    mine = _configs(plan, tmp_path, [*unfiltered, scorers["alt-text CLIP"]])
    planned = _configs(plan, tmp_path, [r["job"] for r in jobs(plan, tmp_path)])
    assert len(mine & planned) == shared  # the same config: not trained twice


@pytest.mark.slow
def test_two_rows_with_controls_and_the_cycle_run_and_report(tmp_path):
    """Six models: two rows at the cycle's error (its unfiltered and alt-text scorers are the
    same models), two controls and the cycle's two filtered retrains."""
    plan = Plan(
        train_samples=128,
        steps=4,
        batch_size=32,
        warmup=1,
        model="hqclip-micro",
        workers=0,
        eval_scale=0.05,
        curve_points=2,
        error=0.3,
        controls=True,
        cycle=True,
    )
    rows = {v: VARIANTS[v] for v in ("alt-text CLIP", FINAL)}
    text = run(plan, tmp_path, rows)
    assert len(list((tmp_path / "models").iterdir())) == 6
    for v in rows:
        assert f"| {v} |" in text
    for name in CONTROLS:  # evaluated under their labels (which hold a colon)
        assert f"| {name} |" in text and "not judged (1 seed)" in text
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {c["claim"] for c in report["claims"]} >= {"HQ-CLIP > alt-text CLIP on retrieval"}
    assert all(c["holds"] is None for c in report["claims"])  # one seed: nothing is judged
    assert "| STC gain on zero-shot > seed spread | – | – | not judged: row not trained |" in text
    assert {p["variant"] for p in report["plateau"]} == set(rows)
    assert all(list(c["ZS top-1"]) == ["2", "4"] for c in report["curves"].values())
    assert set(report["blind"]) == {"training", "benchmark"} and "| benchmark | swap_att |" in text
    for f in (
        "quickstart.md",
        "ablation.png",
        "curves.png",
        "eval/results.json",
        "eval/results.md",
        "eval/summary.png",
    ):
        assert (tmp_path / "report" / f).exists(), f
    # one turn of the cycle: both scorers, both filters, its three rows, in its own report and ours
    turn = json.loads((tmp_path / "report" / "cycle" / "cycle.json").read_text())
    assert turn["error"] == 0.3 and set(turn["detection"]) == {"HQ-CLIP", "alt-text CLIP"}
    for d in turn["detection"].values():
        assert d["sentences"] > d["wrong"] > 0 and 0 <= d["auroc"]["margin"] <= 1
    assert set(turn["filter"]) == {"HQ-CLIP", "the truth"} and list(turn["eval"]) == list(ROWS)
    assert "| HQ-CLIP, filtered by HQ-CLIP |" in text and "| gain: filtered by the truth |" in text
    assert (tmp_path / "report" / "cycle" / "cycle.md").read_text().rstrip() in text
    for f in ("cycle.md", "cycle.png", "eval/results.json"):
        assert (tmp_path / "report" / "cycle" / f).exists(), f
    again = run(plan, tmp_path, rows)  # every stage cached: same tables, the cycle's included
    assert again.split("Times")[0] == text.split("Times")[0]
