"""Run a per-unit function over many units — refine's shards here, the VLM-150M import's phases
too — in this process, in local worker processes (`local`), or as Ray tasks (`ray`): `run_units`.

Ray gives scale-out and fault tolerance (a task whose worker dies is retried on another worker);
exactly-once comes from the unit function itself (atomic output + done marker), so a retried
or rerun unit replaces its output instead of duplicating it. No home-made scheduler.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import tarfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any, Callable

from hqclip.progress import bar

from hqclip.data.atomic import write_text
from hqclip.data.shards import list_shards
from hqclip.data.sidecar import sidecar_path
from hqclip.data.tables import TABLE_SUFFIXES
from hqclip.data.vocab import write_vocab
from hqclip.errors import Interrupted, UserError
from hqclip.refine import preflight, resume
from hqclip.refine.backends import Backend, backend_class
from hqclip.refine.config import RefineConfig
from hqclip.refine.pipeline import refine_shard
from hqclip.refine.stats import run_stats

log = logging.getLogger("hqclip.refine")

STATS = "refine-stats.json"
_backends: dict[str, Backend] = {}  # per process: a Ray worker reuses its loaded model


def resolve_inputs(path: str | Path) -> list[Path]:
    """A world folder (its train/ shards), a folder of tars or caption tables, one tar or table,
    or a brace pattern of tars."""
    p = Path(path)
    if p.is_dir():
        units = list_shards(p) or sorted(q for q in p.iterdir() if q.suffix in TABLE_SUFFIXES)
    elif p.suffix in TABLE_SUFFIXES and p.exists():
        units = [p]
    else:
        try:
            units = list_shards(path)
        except FileNotFoundError as e:
            raise UserError(f"--input {e}") from None
    if not units:
        raise UserError(f"--input {path}: no .tar shards or caption tables (csv/parquet/jsonl) found")
    missing = [u for u in units if not u.exists()]
    if missing:
        raise UserError(f"--input {missing[0]}: no such shard ({len(missing)} missing)")
    return units


def _backend(cfg: RefineConfig) -> Backend:
    key = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    if key not in _backends:
        _backends[key] = backend_class(cfg.backend)(cfg)
    return _backends[key]


def _count_samples(unit: Path) -> int | None:
    if unit.suffix != ".tar":
        return None
    try:
        with tarfile.open(unit) as tf:
            return len({m.name.split(".", 1)[0] for m in tf})
    except (tarfile.TarError, OSError):
        return None


def estimate_total(todo: list[Path]) -> int | None:
    """Samples still to do, from the first shard's size (counting every shard costs a pass)."""
    first = _count_samples(todo[0]) if todo else 0
    return None if first is None else first * len(todo)


class _Bar:
    """tqdm over samples with valid % in the postfix (samples/s and ETA are tqdm's own)."""

    def __init__(self, total: int | None, enabled: bool):
        self.bar = bar(total=total, unit="sample", desc="refine", disable=not enabled)
        self.n = self.ok = 0

    def __call__(self, n: int, ok: int) -> None:
        self.n += n
        self.ok += ok
        self.bar.update(n)
        self.bar.set_postfix(valid=f"{100.0 * self.ok / max(self.n, 1):.1f}%", refresh=False)

    def close(self) -> None:
        self.bar.close()


def run_units(todo: list[Path], job: Callable[[str], dict[str, Any]], runner: str = "local",
              workers: int = 1, ray_opts: dict[str, Any] | None = None,
              on_done: Callable[[str, dict[str, Any]], None] | None = None,
              collect: bool = True, start: str = "fork") -> list[dict[str, Any]]:
    """`job(unit)` for every unit, each returning its stats; `on_done(unit, stats)` as each ends.
    Returns every unit's stats, or with `collect=False` none (each is only passed to `on_done`,
    so memory stays flat in the number of units when a job returns a large summary).

    `local`: in this process in order (workers <= 1), or in `workers` forked processes (no
    re-import of torch via webdataset: ~3 CPU-s each; the caller keeps models and CUDA state out
    of the parent). A caller whose process has run torch ops passes `start="spawn"`: a forked
    child inherits torch's OpenMP thread pool without its threads and hangs at its first op. `ray`: one Ray task per unit (`ray_opts`: address, num_cpus, num_gpus,
    max_retries). Exactly-once is the job's: it writes its output atomically, then its done marker
    (`hqclip.refine.resume`), so a retried or rerun unit replaces its output, never duplicates it.
    `job` must pickle for processes and Ray (a module-level function or a partial of one)."""
    on_done = on_done or (lambda unit, stats: None)
    results: list[dict[str, Any]] = []

    def done(unit: str, stats: dict[str, Any]) -> None:
        if collect:
            results.append(stats)
        on_done(unit, stats)

    if runner == "ray":
        _run_ray(todo, job, ray_opts or {}, done)
        return results
    if runner != "local":
        raise UserError(f"unknown --runner {runner!r}; choose local or ray")
    if workers <= 1:
        for unit in todo:
            done(str(unit), job(str(unit)))
        return results
    method = start if start in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {pool.submit(job, str(u)): str(u) for u in todo}
        try:
            for fut in as_completed(futures):
                done(futures.pop(fut), fut.result())  # a finished future keeps no result alive
        except BrokenProcessPool as e:  # a worker was killed (out of memory, kill -9)
            raise Interrupted(f"a worker process died ({e})") from e
        finally:
            for fut in futures:
                fut.cancel()
    return results


def _call(job: Callable[[str], dict[str, Any]], unit: str) -> dict[str, Any]:
    return job(unit)


def _run_ray(todo, job, ray_opts: dict[str, Any], on_done) -> None:
    import ray

    owns = not ray.is_initialized()
    if owns:
        # no address: a local cluster of this machine's cores, shut down when the run ends
        ray.init(address=ray_opts.get("address"), include_dashboard=False, log_to_driver=False)
    task = ray.remote(_call).options(
        max_retries=ray_opts.get("max_retries", 3), retry_exceptions=False,
        num_cpus=ray_opts.get("num_cpus", 1), num_gpus=ray_opts.get("num_gpus", 0))
    job_ref = ray.put(job)
    pending = {task.remote(job_ref, str(u)): str(u) for u in todo}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            unit = pending.pop(ready[0])
            try:
                stats = ray.get(ready[0])
            except ray.exceptions.RayTaskError as e:
                raise e.cause if isinstance(e.cause, Exception) else e
            except ray.exceptions.RayError as e:
                raise Interrupted(f"{unit}: Ray gave up on this unit after its retries ({e})") from e
            on_done(unit, stats)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if owns:
            ray.shutdown()


def _shard_job(unit: str, out_dir: str, cfg: dict[str, Any], fp: str) -> dict[str, Any]:
    cfg_obj = RefineConfig.from_dict(cfg)
    return refine_shard(unit, out_dir, cfg_obj, _backend(cfg_obj), fp)


def run_refine(cfg: RefineConfig, inputs: str | Path, out_dir: str | Path, runner: str = "local",
               overwrite: bool = False, ray_opts: dict[str, Any] | None = None,
               progress: bool = True, stats_path: str | Path | None = None,
               workers: int = 1) -> dict[str, Any]:
    """Refine every shard of `inputs` into sidecars under `out_dir`, skipping shards already done
    under the same configuration. A configuration that cannot serve the input raises
    `UserError` first. Writes and returns the stats JSON; on failure the stats of the
    finished shards are still written before the error propagates."""
    out = Path(out_dir)
    units = resolve_inputs(inputs)
    cfg = preflight.check(cfg, units, out)  # refuses, before any work, what cannot succeed
    fp = resume.prepare(out, resume.fingerprint_parts(cfg), cfg.to_dict(), overwrite)
    todo, done = resume.plan(units, partial(sidecar_path, out_dir=out), fp, overwrite)
    log.info("%d shards: %d already done, %d to refine (fingerprint %s)",
             len(units), len(done), len(todo), fp)
    bar = _Bar(estimate_total(todo) if progress else None, progress)
    start = time.perf_counter()
    try:
        if runner == "local" and workers <= 1:  # one model in this process, progress per batch
            backend = _backend(cfg)
            try:
                run_units(todo, partial(refine_shard, out_dir=out, cfg=cfg, backend=backend,
                                        fp=fp, progress=bar))
            finally:  # free the model / HTTP clients; a later run in this process builds a new one
                _backends.clear()
                backend.close()
        else:  # the parent never builds a backend, so no model or CUDA state is forked
            run_units(todo, partial(_shard_job, out_dir=str(out), cfg=cfg.to_dict(), fp=fp),
                      runner, workers, ray_opts, lambda unit, s: bar(s["samples"], s["ok"]))
    finally:
        bar.close()
        finished = {u: m["stats"] for u in units
                    if (m := resume.read_done(sidecar_path(u, out))) and m.get("fingerprint") == fp}
        this_run = [s for u, s in finished.items() if u not in done]
        stats = run_stats(list(finished.values()), this_run, time.perf_counter() - start, len(done))
        stats.update(fingerprint=fp, model=backend_class(cfg.backend).identity(cfg),
                     shards_total=len(units))
        write_text(Path(stats_path) if stats_path else out / STATS,
                   json.dumps(stats, indent=1, sort_keys=True))
    if len(finished) == len(units):  # every shard refined: the linear STC head's vocabulary
        write_vocab(out, workers=workers, progress=progress)
    return stats

