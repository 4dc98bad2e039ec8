"""Run a quickstart plan: world → sidecars → train every job → evaluate → blind test → (the
cycle) → report. Each stage is cached on disk, so a rerun only does what is missing."""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path
from typing import Any

from hqclip.clip.load import ModelSpec, load
from hqclip.data.sidecar import list_sidecars, read_sidecar, row_record
from hqclip.eval import evaluate
from hqclip.quickstart.cycle import cycle, cycle_markdown
from hqclip.quickstart.plan import CONTROL_VARIANT, CONTROLS, FINAL, VARIANTS, Plan
from hqclip.quickstart.stages import Job, make_sidecars, make_world, sidecars_dir, step_of, train_all
from hqclip.quickstart.summary import write_quickstart_report
from hqclip.world.blind import blind_test


def error_rates(plan: Plan) -> list[float]:
    """The captioner error rates the plan refines at (the plan's own, and the error study's)."""
    return sorted({plan.error, *(plan.error_rates if plan.error_study else ())})


def jobs(plan: Plan, out: Path, rows: dict[str, dict[str, Any]] = VARIANTS) -> list[dict[str, Any]]:
    """The models the plan trains, in training order: one dict per model with its row ("variant"),
    seed, captioner error and Job. `rows` are the ablation's rows."""
    runs: list[dict[str, Any]] = []
    for seed in plan.seeds:
        for variant, overrides in rows.items():
            runs.append(
                {
                    "variant": variant,
                    "seed": seed,
                    "error": plan.error,
                    "job": Job(
                        f"{variant}-err{plan.error:g}",
                        seed,
                        sidecars_dir(out, plan.error),
                        overrides,
                        plan.curve_points,
                    ),
                }
            )
        for e in error_rates(plan) if plan.error_study else ():
            if e != plan.error:
                runs.append(
                    {
                        "variant": FINAL,
                        "seed": seed,
                        "error": e,
                        "job": Job(f"{FINAL}-err{e:g}", seed, sidecars_dir(out, e), VARIANTS[FINAL]),
                    }
                )
        for name, kind in CONTROLS.items() if plan.controls else ():
            runs.append(
                {
                    "variant": name,
                    "seed": seed,
                    "error": 0.0,
                    "job": Job(name, seed, sidecars_dir(out, 0.0, (kind,)), VARIANTS[CONTROL_VARIANT]),
                }
            )
    return runs


def run(plan: Plan, out: Path, rows: dict[str, dict[str, Any]] = VARIANTS) -> str:
    """Every stage of the plan; returns the Markdown summary that was also written to disk.
    `rows` are the ablation's rows (experiments/study.py adds alternatives to them)."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    world = make_world(plan, out)
    timings["world"] = time.perf_counter() - start
    t = time.perf_counter()
    sidecars = {e: make_sidecars(plan, world, out, e) for e in error_rates(plan)}
    for kind in CONTROLS.values() if plan.controls else ():
        make_sidecars(plan, world, out, 0.0, (kind,))
    timings["refine"] = time.perf_counter() - t

    t = time.perf_counter()
    runs = jobs(plan, out, rows)  # one per trained model: its row, seed, error and job
    for r, ckpts in zip(runs, train_all(plan, world, out, [r.pop("job") for r in runs])):
        r["ckpts"] = ckpts
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    for r in runs:
        r["label"] = f"{r['variant']} | err {r['error']:g} | seed {r['seed']}"
    # specs, not "LABEL=NAME:CKPT" strings: a label may hold a colon ("control: swap_att")
    final = [ModelSpec(r["label"], plan.model, str(r["ckpts"][-1])) for r in runs]
    device = plan.device or "cpu"
    results = evaluate(final, world, out / "report" / "eval", cache_dir=out / "cache", device=device)
    curve_specs = [
        ModelSpec(f"{r['label']} | step {step_of(c)}", plan.model, str(c))
        for r in runs
        for c in r["ckpts"][:-1]
    ]
    curves = (
        evaluate(curve_specs, world, None, cache_dir=out / "cache", device=device)
        if curve_specs
        else {"models": {}}
    )
    timings["eval"] = time.perf_counter() - t

    t = time.perf_counter()
    # the text tower of HQ-CLIP (or of the last row trained) is the blind test's second classifier
    probe = next((r for r in runs if r["variant"] == FINAL and r["error"] == plan.error), runs[-1])
    blind = blind_report(world, sidecars[plan.error], probe, plan)
    timings["blind test"] = time.perf_counter() - t
    turn_md = None
    if plan.cycle:
        t = time.perf_counter()
        turn_md = cycle_markdown(cycle(plan, out))
        timings["cycle"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return write_quickstart_report(
        plan, runs, results, curves, blind, timings, out / "report", tuple(rows), turn_md
    )


def blind_report(
    world: Path, sidecars: Path, model_run: dict[str, Any], plan: Plan, records: int = 5000
) -> dict:
    """The blind test on the first `records` training annotations and on the benchmark, by bag of
    n-grams and by the text tower of `model_run`'s final checkpoint."""
    recs = list(
        islice(
            (
                rec
                for p in list_sidecars(sidecars)
                for row in read_sidecar(p)
                if (rec := row_record(row)) is not None
            ),
            records,
        )
    )
    m = load(ModelSpec("blind-test probe", plan.model, str(model_run["ckpts"][-1])))
    return blind_test(recs, world / "eval", (m.model, m.tokenizer))
