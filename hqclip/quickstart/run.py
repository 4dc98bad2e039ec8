"""Run a quickstart plan: world → sidecars → train every job → evaluate → blind test → (the
cycle) → report. Each stage is cached on disk, so a rerun only does what is missing."""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path
from typing import Any

from hqclip.clip import wise_ft
from hqclip.clip.load import ModelSpec, load
from hqclip.data.sidecar import list_sidecars, read_sidecar, row_record
from hqclip.eval import evaluate
from hqclip.quickstart.cycle import cycle, cycle_markdown
from hqclip.quickstart.plan import CONTROL_VARIANT, CONTROLS, FINAL, SCRATCH_FINAL, VARIANTS, Plan, Row
from hqclip.quickstart.stages import Job, make_sidecars, make_world, sidecars_dir, step_of, train_all
from hqclip.quickstart.summary import write_quickstart_report
from hqclip.world.blind import blind_test


def error_rates(plan: Plan) -> list[float]:
    """The captioner error rates the plan refines at (the plan's own, and the error study's)."""
    return sorted({plan.error, *(plan.error_rates if plan.error_study else ())})


def jobs(plan: Plan, out: Path, rows: dict[str, Row] = VARIANTS) -> list[dict[str, Any]]:
    """The models the plan reports, in training order: one dict per model with its row ("variant"),
    seed, captioner error and Job. `rows` are the ablation's rows, each start before the rows that
    fine-tune it; a fine-tune's start is the same seed's model of its start row at the plan's
    error (trained, not reported, when `rows` lacks it)."""
    return [r for seed in plan.seeds for r in _seed_jobs(plan, out, rows, seed)]


def _seed_jobs(plan: Plan, out: Path, rows: dict[str, Row], seed: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    built: dict[str, Job] = {}
    main = sidecars_dir(out, plan.error)

    def start_of(row: Row) -> Job | None:
        if row.start is None:
            return None
        if row.start in rows and row.start not in built:
            raise ValueError(f"a row fine-tunes {row.start!r}: list {row.start!r} before it")
        if row.start not in built:
            start = VARIANTS[row.start]
            name = f"{row.start}-err{plan.error:g}"
            built[row.start] = Job(name, seed, main, start.overrides, 1, start_of(start))
        return built[row.start]

    def add(variant: str, name: str, error: float, sidecars: Path, row: Row, points: int = 1) -> Job:
        start = start_of(row)
        job = Job(name if start is None else f"ft-{name}", seed, sidecars, row.overrides, points, start)
        runs.append({"variant": variant, "seed": seed, "error": error, "job": job})
        return job

    for variant, row in rows.items():
        built[variant] = add(
            variant, f"{variant}-err{plan.error:g}", plan.error, main, row, plan.curve_points
        )
    for e in error_rates(plan) if plan.error_study else ():
        if e != plan.error:
            add(SCRATCH_FINAL, f"{SCRATCH_FINAL}-err{e:g}", e, sidecars_dir(out, e), VARIANTS[SCRATCH_FINAL])
    for name, kind in CONTROLS.items() if plan.controls else ():
        add(name, name, 0.0, sidecars_dir(out, 0.0, (kind,)), VARIANTS[CONTROL_VARIANT])
    return runs


def run(plan: Plan, out: Path, rows: dict[str, Row] = VARIANTS) -> str:
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
    trained = [r.pop("job") for r in runs]
    for r, job, ckpts in zip(runs, trained, train_all(plan, world, out, trained)):
        r["ckpts"] = ckpts
        r["start"] = job.start.last_checkpoint(plan, out) if job.start is not None else None
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
    wise = wise_ft_sweep(plan, world, out, runs) if plan.wise_ft else None
    timings["eval"] = time.perf_counter() - t

    t = time.perf_counter()
    # the fine-tuned HQ-CLIP's text tower (or the last row's) is the blind test's second classifier
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
        plan, runs, results, curves, blind, timings, out / "report", rows, turn_md, wise
    )


def wise_ft_sweep(plan: Plan, world: Path, out: Path, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """FINAL's WiSE-FT sweep (`hqclip wise-ft`'s functions): for every seed, the weights
    interpolated between its start (α = 0) and the fine-tuned model (α = 1) at the plan's α,
    evaluated. Returns {"runs": one per α and seed, as `jobs`' rows, "results": their eval}, or
    None when the rows have no FINAL to sweep."""
    entries = []
    for r in runs:
        if r["variant"] != FINAL or r["error"] != plan.error or r["start"] is None:
            continue
        zero_shot = wise_ft.state_dict(plan.model, str(r["start"]), "the start")
        fine_tuned = wise_ft.state_dict(plan.model, str(r["ckpts"][-1]), FINAL)
        meta = {"zero_shot": str(r["start"]), "fine_tuned": str(r["ckpts"][-1]), "model": plan.model}
        paths = wise_ft.write(
            out / "wise-ft" / f"seed{r['seed']}",
            plan.model,
            zero_shot,
            fine_tuned,
            list(plan.wise_ft_alphas),
            meta,
        )
        for alpha, path in paths.items():
            variant = f"WiSE-FT α={alpha:g}"
            entries.append(
                {
                    "variant": variant,
                    "seed": r["seed"],
                    "error": plan.error,
                    "label": f"{variant} | seed {r['seed']}",
                    "ckpt": path,
                }
            )
    if not entries:
        return None
    specs = [ModelSpec(e["label"], plan.model, str(e["ckpt"])) for e in entries]
    results = evaluate(
        specs, world, out / "report" / "wise-ft", cache_dir=out / "cache", device=plan.device or "cpu"
    )
    return {"runs": entries, "results": results}


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
