"""The quickstart's stages, each cached on disk so a rerun only does what is missing: the world,
the oracle's sidecars, and the models (trained in worker processes, skipped when done with the
same config)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import torch

from hqclip.data.atomic import write_text
from hqclip.progress import bar
from hqclip.quickstart.plan import Plan
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.train import TrainConfig, run
from hqclip.workers import context as workers_context
from hqclip.world.build import build_world
from hqclip.world.config import WorldConfig

log = logging.getLogger("hqclip.quickstart")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_world(plan: Plan, out: Path) -> Path:
    cfg = WorldConfig(
        seed=plan.world_seed, train_samples=plan.train_samples, image_size=plan.image_size
    ).with_eval_scale(plan.eval_scale)
    m = build_world(out / "world", cfg)
    if not m["cached"]:  # a new world: sidecars, models and embeddings made from the old one are stale
        for stale in ("sidecars", "models", "cache"):
            shutil.rmtree(out / stale, ignore_errors=True)
    how = "reused" if m["cached"] else f"generated, {m['timing']['train_samples_per_s']:.0f} samples/s"
    log.info("world: %d train samples (%s)", m["train"]["samples"], how)
    return out / "world"


def sidecars_dir(out: Path, error: float, kinds: tuple[str, ...] | None = None) -> Path:
    """Where `make_sidecars` writes the oracle's sidecars at `error` (restricted to `kinds`)."""
    return out / "sidecars" / (f"error-{error:g}" + (f"-{'+'.join(kinds)}" if kinds else ""))


def make_sidecars(
    plan: Plan, world: Path, out: Path, error: float, kinds: tuple[str, ...] | None = None
) -> Path:
    """Oracle sidecars at `error`; `kinds` restricts the negatives (the learnability controls)."""
    options: dict[str, Any] = {
        "omission": error,
        "hallucination": error,
        "malformed": error * plan.malformed_fraction,
    }
    if kinds:
        options["kinds"] = list(kinds)
    # salvage off: the documented results were made before it existed (with it, a few malformed
    # answers are kept minus a pair instead of retried, which changes the training data)
    cfg = RefineConfig(backend="oracle", seed=0, salvage=False, options=options)
    dest = sidecars_dir(out, error, kinds)
    stats = run_refine(cfg, world / "train", dest, progress=True)
    log.info("refine %s: %s valid", dest.name, f"{stats['total']['valid_pct']:.1f}%")
    return dest


def _same_config(recorded: dict[str, Any], cfg: TrainConfig) -> bool:
    """A finished run matches `cfg` if every field that decides the model agrees; a field added to
    TrainConfig after the run was recorded counts as its default, so new options do not retrain
    old runs."""
    defaults = {
        f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        for f in dataclasses.fields(cfg)
    }
    return all(recorded.get(k, defaults.get(k)) == v for k, v in cfg.to_dict().items() if k != "progress")


@dataclasses.dataclass
class Job:
    """One model to train: a row of the plan, a seed, its sidecars, `points` checkpoints, and the
    job whose last checkpoint it fine-tunes (None: from scratch, for the plan's `steps`; else for
    its `finetune_steps` at its `finetune_lr`)."""

    name: str
    seed: int
    sidecars: Path
    overrides: dict[str, Any]
    points: int = 1
    start: Job | None = None

    def steps(self, plan: Plan) -> int:
        return plan.steps if self.start is None else plan.finetune_steps

    def output(self, out: Path) -> Path:
        return out / "models" / f"{_slug(self.name)}-seed{self.seed}"

    def last_checkpoint(self, plan: Plan, out: Path) -> Path:
        return self.output(out) / "checkpoints" / f"step_{self.steps(plan):08d}.pt"

    def config(self, plan: Plan, world: Path, out: Path) -> TrainConfig:
        steps = self.steps(plan)
        schedule = (
            {"lr": plan.lr, "warmup": plan.warmup}
            if self.start is None
            else {
                "lr": plan.finetune_lr,
                "warmup": plan.finetune_warmup,
                "pretrained": str(self.start.last_checkpoint(plan, out)),
            }
        )
        return TrainConfig(
            train_data=str(world),
            sidecars=str(self.sidecars),
            output=str(self.output(out)),
            model=plan.model,
            batch_size=plan.batch_size,
            steps=steps,
            workers=plan.workers,
            cache=plan.workers == 0,
            seed=self.seed,
            save_every=max(1, steps // self.points),
            progress=False,
            **schedule,
            **({"device": plan.device} if plan.device else {}),
            **{**plan.train, **self.overrides},
        )


def _done(cfg: TrainConfig) -> bool:
    done = Path(cfg.output) / "done.json"
    return done.exists() and _same_config(json.loads(done.read_text())["config"], cfg)


def _threads(n: int) -> None:
    """A worker process's torch threads (set in the workers only, never in the caller's process)."""
    torch.set_num_threads(n)


def _train(cfg: TrainConfig) -> None:
    """One model, in a worker process; writes done.json at the end."""
    t = time.perf_counter()
    res = run(cfg)
    write_text(
        Path(cfg.output) / "done.json",
        json.dumps(
            {
                "config": cfg.to_dict(),
                "checkpoint": res["checkpoint"],
                "seconds": round(time.perf_counter() - t, 1),
                "last": res["last"],
            }
        ),
    )


def _steps_done(cfg: TrainConfig) -> int:
    """The last step a running job logged (0 before its first row, or while a row is half written)."""
    rows = Path(cfg.output) / "metrics.jsonl"
    try:
        return json.loads(rows.read_text().splitlines()[-1])["step"]
    except (OSError, IndexError, ValueError):
        return 0


def _with_starts(jobs: list[Job]) -> list[Job]:
    """`jobs` and the jobs they start from, each start before the jobs that fine-tune it."""
    out: list[Job] = []
    for j in jobs:
        chain = []
        while j is not None:
            chain.append(j)
            j = j.start
        out += [j for j in reversed(chain) if j not in out]
    return out


def train_all(plan: Plan, world: Path, out: Path, jobs: list[Job]) -> list[list[Path]]:
    """Train every job not already done (same config), and the starts they fine-tune, `plan.parallel`
    at a time, each in a worker process with cores // parallel torch threads: the towers are too
    small to keep several threads busy, so two one-thread runs on two cores make more steps per
    second than one two-thread run. A fine-tune waits for its start, and is retrained when its start
    is. One progress bar over all steps. Returns each job's checkpoints, last last."""
    every = _with_starts(jobs)
    cfgs = {j.output(out): j.config(plan, world, out) for j in every}
    todo: dict[Path, Path | None] = {}  # job's folder -> its start's folder
    for j in every:
        start = j.start.output(out) if j.start is not None else None
        if not _done(cfgs[j.output(out)]) or start in todo:
            todo.setdefault(j.output(out), start)
    workers = max(1, plan.parallel)
    threads = max(1, (os.cpu_count() or 1) // workers)
    shown = bar(
        total=sum(cfgs[k].steps for k in todo),
        desc=f"train {len(todo)} models",
        unit="step",
        disable=not todo,
    )
    begin = time.perf_counter()
    try:
        if todo:
            with ProcessPoolExecutor(
                workers, mp_context=workers_context(), initializer=_threads, initargs=(threads,)
            ) as pool:
                waiting, running, finished = list(todo), {}, set()
                while waiting or running:
                    busy = {*waiting, *running.values()}
                    for k in [k for k in waiting if todo[k] not in busy]:  # its start is done
                        (k / "done.json").unlink(missing_ok=True)  # an older run's, until this one ends
                        shutil.rmtree(k / "checkpoints", ignore_errors=True)
                        running[pool.submit(_train, cfgs[k])] = k
                        waiting.remove(k)
                    done, _ = wait(running, timeout=2, return_when=FIRST_COMPLETED)
                    for f in done:
                        f.result()  # a failed run stops the quickstart with its own error
                        finished.add(running.pop(f))
                    shown.n = sum(cfgs[k].steps for k in finished) + sum(
                        _steps_done(cfgs[k]) for k in running.values()
                    )
                    shown.refresh()
    finally:
        shown.close()
    if todo:
        log.info("trained %d models in %.0f s", len(todo), time.perf_counter() - begin)
    return [sorted((j.output(out) / "checkpoints").glob("step_*.pt")) for j in jobs]


def step_of(ckpt: Path) -> int:
    """The training step a checkpoint (checkpoints/step_NNNNNNNN.pt) was saved at."""
    return int(ckpt.stem.split("_")[1])
