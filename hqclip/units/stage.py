"""One command's run over its units, the same for refine, score, filter and each import phase:
check the output folder's manifest (`<name>-run.json`), plan what is left, run it with a progress
bar, and summarise every done unit's stats into `<name>-stats.json`, also when the run fails.
Refusing what cannot succeed (preflight) is the caller's, before it calls `run_stage`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.progress import bar
from hqclip.units import resume
from hqclip.units.run import run_units

log = logging.getLogger("hqclip.units")

Stats = dict[str, Any]
# (every unit done under this fingerprint: its stats, the units of them done before this run,
# seconds this run took) → the stage's stats
Summarise = Callable[[dict[Path, Stats], set[Path], float], Stats]


def manifest_name(name: str) -> str:
    return f"{name}-run.json"


def stats_name(name: str) -> str:
    return f"{name}-stats.json"


class Progress:
    """The stage's bar: it counts units, or with `count` that number of each unit's stats (samples,
    records); with `valid`, the share of ok ones in the postfix. A live job calls it per batch."""

    def __init__(self, desc: str, total: int | None, count: str | None, valid: bool, enabled: bool):
        self.bar = bar(
            total=total, desc=desc, unit=count.removesuffix("s") if count else "unit", disable=not enabled
        )
        self.count, self.valid = count, valid
        self.n = self.ok = 0

    def __call__(self, n: int, ok: int = 0) -> None:
        self.n += n
        self.ok += ok
        self.bar.update(n)
        if self.valid:
            self.bar.set_postfix(valid=f"{100.0 * self.ok / max(self.n, 1):.1f}%", refresh=False)

    def unit_done(self, stats: Stats) -> None:
        self(stats[self.count] if self.count else 1, stats.get("ok", 0))

    def close(self) -> None:
        self.bar.close()


def run_stage(
    name: str,
    out: Path,
    units: list[Path],
    job: Callable[..., Stats],
    summarise: Summarise,
    *,
    parts: dict[str, Any],
    config: dict[str, Any],
    output_of: Callable[[Path], Path],
    stamp: Callable[[Path], Any] = resume.input_stamp,
    overwrite: bool = False,
    runner: str = "local",
    workers: int = 1,
    ray_opts: dict[str, Any] | None = None,
    live: bool = False,
    progress: bool = True,
    desc: str | None = None,
    count: str | None = None,
    valid: bool = False,
    estimate: Callable[[list[Path]], int | None] | None = None,
) -> Stats:
    """Run `job(unit, fp=…)` for each unit of `units` not yet done under this fingerprint, into
    `out`; returns the stats it writes to `out/<name>-stats.json`.

    `parts`: what decides the output (hashed into the fingerprint `fp`); `config`: the rest of the
    run's settings, kept in the manifest. `output_of(unit)`: the file whose done marker says the
    unit is done; `stamp(unit)`: what of its inputs the marker records (`resume.plan`). `job` must
    pickle (a module-level function or a partial of one); with `live` it takes `progress=` and, run
    in this process, advances the bar per batch (else the bar advances as each unit ends). The bar
    (`desc`, default `name`) counts units, or `count` of each unit's stats, of `estimate(todo)`
    (default: the number of units when it counts units)."""
    fp = resume.prepare(out, parts, config, overwrite, manifest_name(name))
    todo, before = resume.plan(units, output_of, fp, overwrite, stamp)
    log.info(
        "%s: %d units, %d already done, %d to do (fingerprint %s)",
        name,
        len(units),
        len(before),
        len(todo),
        fp,
    )
    total = None  # unknown: the bar shows a count and a rate
    if progress and (estimate or not count):
        total = estimate(todo) if estimate else len(todo)
    shown = Progress(desc or name, total, count, valid, progress)
    start = time.perf_counter()
    try:
        if live and runner == "local" and workers <= 1:  # the job advances the bar per batch
            run_units(todo, partial(job, fp=fp, progress=shown), collect=False)
        else:
            run_units(
                todo,
                partial(job, fp=fp),
                runner,
                workers,
                ray_opts,
                collect=False,
                on_done=lambda unit, stats: shown.unit_done(stats),
            )
    finally:
        shown.close()
        finished = {
            u: m["stats"]
            for u in units
            if (m := resume.read_done(output_of(u))) and m.get("fingerprint") == fp
        }
        stats = {**summarise(finished, set(before), time.perf_counter() - start), "fingerprint": fp}
        write_text(out / stats_name(name), json.dumps(stats, indent=1, sort_keys=True))
    return stats
