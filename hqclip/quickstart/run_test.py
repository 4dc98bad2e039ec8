import json
from pathlib import Path

import pytest

from hqclip.quickstart.cycle import ERROR, ROWS, unfiltered_jobs
from hqclip.quickstart.plan import (
    CONTROL_FT,
    CONTROL_VARIANT,
    CONTROLS,
    DESC_MIX,
    FINAL,
    SCRATCH_FINAL,
    START,
    VARIANTS,
    Plan,
    Row,
)
from hqclip.quickstart.run import jobs, run
from hqclip.quickstart.stages import sidecars_dir, train_all
from hqclip.train import TrainConfig


def test_the_plain_plan_trains_two_rows_from_scratch_and_four_fine_tunes_of_the_first(tmp_path):
    plan = Plan()
    runs = jobs(plan, tmp_path)
    assert [(r["variant"], r["seed"], r["error"]) for r in runs] == [(v, 0, 0.1) for v in VARIANTS]
    cfgs = {r["variant"]: r["job"].config(plan, tmp_path / "world", tmp_path) for r in runs}
    assert {c.sidecars for c in cfgs.values()} == {str(sidecars_dir(tmp_path, 0.1))}
    start = cfgs[START]
    for v, c in cfgs.items():
        if VARIANTS[v].start is None:
            assert (c.steps, c.lr, c.warmup, c.pretrained) == (1000, plan.lr, plan.warmup, None)
        else:  # from the alt-text CLIP's last checkpoint, for the fine-tune schedule
            assert c.pretrained == str(Path(start.output) / "checkpoints" / "step_00001000.pt")
            assert (c.steps, c.lr, c.warmup) == (500, plan.finetune_lr, plan.finetune_warmup)
        assert c.save_every == c.steps // 4  # four checkpoints each: the learning curves
    assert len({c.output for c in cfgs.values()}) == 6
    assert cfgs[CONTROL_FT].text_mix == {"alt": 1.0} and cfgs[FINAL].text_mix == {"alt": 0.3, "desc": 0.7}
    # the fine-tuned HQ-CLIP is what `hqclip train` does by default (design: its text mix)
    assert DESC_MIX == TrainConfig(train_data="x", output="y").text_mix
    assert (cfgs[SCRATCH_FINAL].text_mix, cfgs[SCRATCH_FINAL].hni_weight) == ({"desc": 1.0}, 1.0)


def test_the_full_plan_adds_seeds_error_rates_and_controls(tmp_path):
    plan = Plan(seeds=(0, 1, 2), error_study=True, controls=True, cycle=True)
    runs = jobs(plan, tmp_path)
    per_seed = [
        *((v, 0.1) for v in VARIANTS),
        (SCRATCH_FINAL, 0.0),
        (SCRATCH_FINAL, 0.3),
        *((c, 0.0) for c in CONTROLS),
    ]
    assert [(r["variant"], r["error"]) for r in runs] == per_seed * 3
    assert [r["seed"] for r in runs] == [s for s in (0, 1, 2) for _ in per_seed]
    cfgs = {
        (r["variant"], r["error"], r["seed"]): r["job"].config(plan, tmp_path / "world", tmp_path)
        for r in runs
    }
    assert len({c.output for c in cfgs.values()}) == len(runs)  # a model folder of its own each
    for (variant, error, seed), c in cfgs.items():
        assert c.seed == seed
        start = cfgs[(START, 0.1, seed)].output
        if variant in CONTROLS:  # the HNI fine-tune on a perfect captioner's negatives of the subset's kind
            assert c.sidecars == str(sidecars_dir(tmp_path, 0.0, (CONTROLS[variant],)))
            assert c.hni_weight == VARIANTS[CONTROL_VARIANT].overrides["hni_weight"] and c.stc_weight == 0
            assert c.pretrained.startswith(start) and c.steps == 500
        else:
            assert c.sidecars == str(sidecars_dir(tmp_path, error))
        if error != plan.error and variant not in CONTROLS:  # the error study: HQ-CLIP from scratch
            assert (variant, c.pretrained, c.save_every) == (SCRATCH_FINAL, None, 1000)
        if variant in VARIANTS and VARIANTS[variant].start:  # the same seed's start
            assert c.pretrained.startswith(start + "/")


def test_rows_replace_the_ablation_rows_not_the_rest(tmp_path):
    plan = Plan(controls=True)
    rows = {"mine": Row({"hni_weight": 0.5})}
    assert [r["variant"] for r in jobs(plan, tmp_path, rows)] == ["mine", *CONTROLS]


def test_a_fine_tune_listed_before_its_start_is_refused(tmp_path):
    with pytest.raises(ValueError, match="list 'alt-text CLIP' before it"):
        jobs(Plan(), tmp_path, {FINAL: VARIANTS[FINAL], START: VARIANTS[START]})


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
def test_both_paths_with_controls_wise_ft_and_the_cycle_run_and_report(tmp_path):
    """Seven models: alt-text CLIP and HQ-CLIP from scratch at the cycle's error (its alt-text and
    unfiltered scorers are the same models), HQ-CLIP fine-tuned from that alt-text CLIP, two
    controls (fine-tunes too) and the cycle's two filtered retrains; the WiSE-FT sweep."""
    plan = Plan(
        train_samples=128,
        steps=4,
        finetune_steps=2,
        batch_size=32,
        warmup=1,
        finetune_warmup=1,
        model="hqclip-micro",
        workers=0,
        eval_scale=0.05,
        curve_points=2,
        error=0.3,
        controls=True,
        cycle=True,
        wise_ft=True,
        wise_ft_alphas=(0.0, 0.5, 1.0),
    )
    rows = {v: VARIANTS[v] for v in (START, SCRATCH_FINAL, FINAL)}
    text = run(plan, tmp_path, rows)
    assert len(list((tmp_path / "models").iterdir())) == 7
    assert "| from scratch, 4 steps (error 0.3, 1 seed(s)) |" in text
    assert "| fine-tuned from alt-text CLIP, +2 steps (error 0.3, 1 seed(s)) |" in text
    for v in rows:
        assert f"| {v} |" in text
    for name in CONTROLS:  # evaluated under their labels (which hold a colon)
        assert f"| {name} |" in text and "not judged (1 seed)" in text
    report = json.loads((tmp_path / "report" / "quickstart.json").read_text())
    assert {c["claim"] for c in report["claims"]} >= {
        "from scratch: HQ-CLIP > alt-text CLIP on retrieval",
        "fine-tuned: HQ-CLIP > alt-text control on zero-shot",
    }
    assert all(c["holds"] is None for c in report["claims"])  # one seed: nothing is judged
    assert "| STC gain on zero-shot > seed spread | – | – | not judged: row not trained |" in text
    assert {p["variant"] for p in report["plateau"]} == set(rows)
    steps = {v: list(c["ZS top-1"]) for v, c in report["curves"].items()}
    assert steps == {START: ["2", "4"], SCRATCH_FINAL: ["2", "4"], FINAL: ["1", "2"]}
    assert set(report["blind"]) == {"training", "benchmark"} and "| benchmark | swap_att |" in text
    # WiSE-FT: α = 0 is the start's weights, α = 1 the fine-tune's, so their scores are theirs
    wise = {w["variant"]: w["metrics"] for w in report["wise_ft"]}
    groups = {g["variant"]: g["metrics"] for g in report["groups"] if g["error"] == 0.3}
    assert list(wise) == ["WiSE-FT α=0", "WiSE-FT α=0.5", "WiSE-FT α=1"]
    assert wise["WiSE-FT α=0"] == groups[START] and wise["WiSE-FT α=1"] == groups[FINAL]
    assert "| WiSE-FT α=0.5 |" in text and (tmp_path / "report" / "wise_ft.png").exists()
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
    # a start trained again (another learning rate) trains its fine-tune again, same config or not
    other = plan.replace(lr=2e-3)
    ft = next(r["job"] for r in jobs(other, tmp_path, rows) if r["variant"] == FINAL)
    assert ft.config(other, tmp_path / "world", tmp_path) == ft.config(plan, tmp_path / "world", tmp_path)
    done = [j.output(tmp_path) / "done.json" for j in (ft.start, ft)]
    before = [json.loads(d.read_text()) for d in done]
    train_all(other, tmp_path / "world", tmp_path, [ft])
    after = [json.loads(d.read_text()) for d in done]
    assert after[0]["config"]["lr"] == 2e-3 and after[1]["last"] != before[1]["last"]
