"""Run a quickstart plan: each stage is cached on disk, so a rerun only does what is missing."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.quickstart.plan import CONTROL_VARIANT, CONTROLS, FINAL, VARIANTS, Plan
from hqclip.quickstart.report import write_quickstart_report

log = logging.getLogger("hqclip.quickstart")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_world(plan: Plan, out: Path) -> Path:
    from hqclip.world.build import build_world
    from hqclip.world.config import WorldConfig

    cfg = WorldConfig(seed=plan.world_seed, train_samples=plan.train_samples,
                      image_size=plan.image_size).with_eval_scale(plan.eval_scale)
    m = build_world(out / "world", cfg)
    if not m["cached"]:  # a new world: sidecars, models and embeddings made from the old one are stale
        for stale in ("sidecars", "models", "cache"):
            shutil.rmtree(out / stale, ignore_errors=True)
    how = "reused" if m["cached"] else f"generated, {m['timing']['train_samples_per_s']:.0f} samples/s"
    log.info("world: %d train samples (%s)", m["train"]["samples"], how)
    return out / "world"


def make_sidecars(plan: Plan, world: Path, out: Path, error: float,
                  kinds: tuple[str, ...] | None = None) -> Path:
    """Oracle sidecars at `error`; `kinds` restricts the negatives (the learnability controls)."""
    from hqclip.refine.config import RefineConfig
    from hqclip.refine.runners import run_refine

    options: dict[str, Any] = {"omission": error, "hallucination": error,
                               "malformed": error * plan.malformed_fraction}
    if kinds:
        options["kinds"] = list(kinds)
    # salvage off: the documented results were made before it existed (with it, a few malformed
    # answers are kept minus a pair instead of retried, which changes the training data)
    cfg = RefineConfig(backend="oracle", seed=0, salvage=False, options=options)
    dest = out / "sidecars" / (f"error-{error:g}" + (f"-{'+'.join(kinds)}" if kinds else ""))
    stats = run_refine(cfg, world / "train", dest, progress=True)
    log.info("refine %s: %s valid", dest.name, f"{stats['total']['valid_pct']:.1f}%")
    return dest


def _same_config(recorded: dict[str, Any], cfg: Any) -> bool:
    """A finished run matches `cfg` if every field that decides the model agrees; a field added to
    TrainConfig after the run was recorded counts as its default, so new options do not retrain
    old runs."""
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING
                else f.default for f in dataclasses.fields(cfg)}
    return all(recorded.get(k, defaults.get(k)) == v for k, v in cfg.to_dict().items()
               if k != "progress")


@dataclasses.dataclass
class Job:
    """One model to train: a row of the plan, a seed, its sidecars, `points` checkpoints."""

    name: str
    seed: int
    sidecars: Path
    overrides: dict[str, Any]
    points: int = 1

    def config(self, plan: Plan, world: Path, out: Path):
        from hqclip.train import TrainConfig

        return TrainConfig(train_data=str(world), sidecars=str(self.sidecars),
                           output=str(out / "models" / f"{_slug(self.name)}-seed{self.seed}"),
                           model=plan.model, batch_size=plan.batch_size, steps=plan.steps, lr=plan.lr,
                           warmup=plan.warmup, workers=plan.workers, cache=plan.workers == 0,
                           seed=self.seed,
                           save_every=max(1, plan.steps // self.points), progress=False,
                           **{**plan.train, **self.overrides})


def _done(cfg) -> bool:
    done = Path(cfg.output) / "done.json"
    return done.exists() and _same_config(json.loads(done.read_text())["config"], cfg)


def _train(cfg, threads: int) -> None:
    """One model, in this process (with `threads` torch threads); writes done.json at the end."""
    import torch

    from hqclip.train import run

    torch.set_num_threads(threads)
    t = time.perf_counter()
    res = run(cfg)
    write_text(Path(cfg.output) / "done.json", json.dumps({
        "config": cfg.to_dict(), "checkpoint": res["checkpoint"],
        "seconds": round(time.perf_counter() - t, 1), "last": res["last"]}))


def _steps_done(cfg) -> int:
    rows = (Path(cfg.output) / "metrics.jsonl")
    try:
        last = rows.read_text().splitlines()[-1]
    except (OSError, IndexError):
        return 0
    return json.loads(last)["step"]


def train_all(plan: Plan, world: Path, out: Path, jobs: list[Job]) -> list[list[Path]]:
    """Train every job not already done (same config), `plan.parallel` at a time, each in its own
    process with cores // parallel torch threads: the towers are too small to keep several
    threads busy, so two one-thread runs on two cores make more steps per second than one
    two-thread run. One progress bar over all steps. Returns each job's checkpoints, last last."""
    import multiprocessing
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from hqclip.progress import bar

    cfgs = [j.config(plan, world, out) for j in jobs]
    todo = [c for c in cfgs if not _done(c)]
    threads = max(1, (os.cpu_count() or 1) // plan.parallel)
    shown = bar(total=sum(c.steps for c in todo), desc=f"train {len(todo)} models", unit="step",
                disable=not todo)
    start = time.perf_counter()
    try:
        if plan.parallel <= 1:  # one at a time, each with its own bar
            shown.close()
            for c in todo:
                _train(dataclasses.replace(c, progress=True), threads)
        else:
            ctx = multiprocessing.get_context("spawn")  # no forked torch or OpenMP state
            with ProcessPoolExecutor(plan.parallel, mp_context=ctx) as pool:
                running = {pool.submit(_train, c, threads) for c in todo}
                while running:
                    finished, _ = wait(running, timeout=2, return_when=FIRST_COMPLETED)
                    for f in finished:
                        f.result()  # a failed run stops the quickstart with its own error
                    running -= finished
                    shown.n = sum(c.steps if _done(c) else _steps_done(c) for c in todo)
                    shown.refresh()
    finally:
        shown.close()
    if todo:
        log.info("trained %d models in %.0f s", len(todo), time.perf_counter() - start)
    return [sorted((Path(c.output) / "checkpoints").glob("step_*.pt")) for c in cfgs]


def step_of(ckpt: Path) -> int:
    return int(ckpt.stem.split("_")[1])


def run(plan: Plan, out: Path, rows: dict[str, dict[str, Any]] = VARIANTS) -> str:
    """Every stage of the plan; returns the Markdown summary that was also written to disk.
    `rows` are the ablation's rows (the study adds alternatives to them)."""
    from hqclip.clip.load import ModelSpec
    from hqclip.eval import evaluate

    start = time.perf_counter()
    timings: dict[str, float] = {}
    world = make_world(plan, out)
    timings["world"] = time.perf_counter() - start
    errors = sorted({plan.error, *(plan.error_rates if plan.error_study else ())})
    t = time.perf_counter()
    sidecars = {e: make_sidecars(plan, world, out, e) for e in errors}
    control_sidecars = {name: make_sidecars(plan, world, out, 0.0, (kind,))
                        for name, kind in CONTROLS.items()} if plan.controls else {}
    timings["refine"] = time.perf_counter() - t

    t = time.perf_counter()
    runs: list[dict[str, Any]] = []  # one per trained model: its row, seed, error and job
    for seed in plan.seeds:
        for variant, overrides in rows.items():
            runs.append({"variant": variant, "seed": seed, "error": plan.error, "job": Job(
                f"{variant}-err{plan.error:g}", seed, sidecars[plan.error], overrides, plan.curve_points)})
        for e in errors if plan.error_study else ():
            if e != plan.error:
                runs.append({"variant": FINAL, "seed": seed, "error": e,
                             "job": Job(f"{FINAL}-err{e:g}", seed, sidecars[e], VARIANTS[FINAL])})
        for name, dest in control_sidecars.items():
            runs.append({"variant": name, "seed": seed, "error": 0.0,
                         "job": Job(name, seed, dest, VARIANTS[CONTROL_VARIANT])})
    for r, ckpts in zip(runs, train_all(plan, world, out, [r.pop("job") for r in runs])):
        r["ckpts"] = ckpts
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    for r in runs:
        r["label"] = f"{r['variant']} | err {r['error']:g} | seed {r['seed']}"
    # specs, not "LABEL=NAME:CKPT" strings: a label may hold a colon ("control: swap_att")
    final = [ModelSpec(r["label"], plan.model, str(r["ckpts"][-1])) for r in runs]
    results = evaluate(final, world, out / "report" / "eval", cache_dir=out / "cache")
    curve_specs = [ModelSpec(f"{r['label']} | step {step_of(c)}", plan.model, str(c))
                   for r in runs for c in r["ckpts"][:-1]]
    curves = evaluate(curve_specs, world, None, cache_dir=out / "cache") if curve_specs else {"models": {}}
    timings["eval"] = time.perf_counter() - t

    t = time.perf_counter()
    # the text tower of HQ-CLIP (or of the last row trained) is the blind test's second classifier
    probe = next((r for r in runs if r["variant"] == FINAL and r["error"] == plan.error), runs[-1])
    blind = blind_report(world, sidecars[plan.error], probe, plan)
    timings["blind test"] = time.perf_counter() - t
    turn = None
    if plan.cycle:
        from hqclip.quickstart.cycle import cycle

        t = time.perf_counter()
        turn = cycle(plan, out)
        timings["cycle"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return write_quickstart_report(plan, runs, results, curves, blind, timings, out / "report", list(rows),
                                   turn)


def blind_report(world: Path, sidecars: Path, model_run: dict[str, Any], plan: Plan,
                 records: int = 5000) -> dict:
    """The blind test on the first `records` training annotations and on the benchmark, by bag of
    n-grams and by the text tower of `model_run`'s final checkpoint."""
    from itertools import islice

    from hqclip.clip.load import ModelSpec, load
    from hqclip.data.sidecar import list_sidecars, read_sidecar, row_record
    from hqclip.world.blind import blind_test

    recs = list(islice((rec for p in list_sidecars(sidecars) for row in read_sidecar(p)
                        if (rec := row_record(row)) is not None), records))
    m = load(ModelSpec("blind-test probe", plan.model, str(model_run["ckpts"][-1])))
    return blind_test(recs, world / "eval", (m.model, m.tokenizer))
