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
from hqclip.quickstart.plan import FINAL, VARIANTS, Plan
from hqclip.quickstart.report import write_quickstart_report

log = logging.getLogger("hqclip.quickstart")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_world(plan: Plan, out: Path) -> Path:
    from hqclip.world.build import build_world
    from hqclip.world.config import WorldConfig

    m = build_world(out / "world", WorldConfig(seed=plan.world_seed, train_samples=plan.train_samples,
                                                image_size=plan.image_size))
    if not m["cached"]:  # a new world: sidecars, models and embeddings made from the old one are stale
        for stale in ("sidecars", "models", "cache"):
            shutil.rmtree(out / stale, ignore_errors=True)
    how = "reused" if m["cached"] else f"generated, {m['timing']['train_samples_per_s']:.0f} samples/s"
    log.info("world: %d train samples (%s)", m["train"]["samples"], how)
    return out / "world"


def make_sidecars(plan: Plan, world: Path, out: Path, error: float) -> Path:
    from hqclip.refine.config import RefineConfig
    from hqclip.refine.runners import run_refine

    cfg = RefineConfig(backend="oracle", seed=0, options={
        "omission": error, "hallucination": error, "malformed": error * plan.malformed_fraction})
    dest = out / "sidecars" / f"error-{error:g}"
    stats = run_refine(cfg, world / "train", dest, progress=True)
    log.info("refine (error %g): %s valid", error, f"{stats['total']['valid_pct']:.1f}%")
    return dest


def _same_config(recorded: dict[str, Any], cfg: Any) -> bool:
    """A finished run matches `cfg` if every field agrees; a field added to TrainConfig after the
    run was recorded counts as its default, so new options do not retrain old runs."""
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING
                else f.default for f in dataclasses.fields(cfg)}
    return all(recorded.get(k, defaults.get(k)) == v for k, v in cfg.to_dict().items())


def train_model(plan: Plan, world: Path, sidecars: Path, out: Path, variant: str, seed: int,
                error: float, overrides: dict[str, Any] | None = None) -> Path:
    """Train one variant (`overrides` default to VARIANTS[variant]), or reuse a finished run of the
    same config; returns its checkpoint."""
    from hqclip.train import TrainConfig, run

    run_dir = out / "models" / f"{_slug(variant)}-err{error:g}-seed{seed}"
    cfg = TrainConfig(train_data=str(world), sidecars=str(sidecars), output=str(run_dir),
                      model=plan.model, batch_size=plan.batch_size, steps=plan.steps, lr=plan.lr,
                      warmup=plan.warmup, workers=plan.workers, seed=seed,
                      save_every=plan.steps,
                      **{**plan.train, **(VARIANTS[variant] if overrides is None else overrides)})
    done = run_dir / "done.json"
    if done.exists() and _same_config(json.loads(done.read_text())["config"], cfg):
        return Path(json.loads(done.read_text())["checkpoint"])
    t = time.perf_counter()
    res = run(cfg)
    write_text(done, json.dumps({"config": cfg.to_dict(), "checkpoint": res["checkpoint"],
                                 "seconds": round(time.perf_counter() - t, 1), "last": res["last"]}))
    log.info("trained %s (seed %d, error %g) in %.0f s: %s", variant, seed, error,
             time.perf_counter() - t, res["last"])
    return Path(res["checkpoint"])


def run(plan: Plan, out: Path) -> str:
    """Every stage of the plan; returns the Markdown summary that was also written to disk."""
    from hqclip.eval import evaluate

    start = time.perf_counter()
    timings: dict[str, float] = {}
    world = make_world(plan, out)
    timings["world"] = time.perf_counter() - start
    errors = sorted({plan.error, *(plan.error_rates if plan.error_study else ())})
    t = time.perf_counter()
    sidecars = {e: make_sidecars(plan, world, out, e) for e in errors}
    timings["refine"] = time.perf_counter() - t

    t = time.perf_counter()
    runs: list[dict[str, Any]] = []
    for seed in plan.seeds:
        for variant in VARIANTS:
            runs.append({"variant": variant, "seed": seed, "error": plan.error,
                         "ckpt": train_model(plan, world, sidecars[plan.error], out, variant, seed, plan.error)})
        for e in errors if plan.error_study else ():
            if e != plan.error:
                runs.append({"variant": FINAL, "seed": seed, "error": e,
                             "ckpt": train_model(plan, world, sidecars[e], out, FINAL, seed, e)})
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    for r in runs:
        r["label"] = f"{r['variant']} | err {r['error']:g} | seed {r['seed']}"
    specs = [f"{r['label']}={plan.model}:{r['ckpt']}" for r in runs]
    results = evaluate(specs, world, out / "report" / "eval", cache_dir=out / "cache")
    timings["eval"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return write_quickstart_report(plan, runs, results, timings, out / "report")
