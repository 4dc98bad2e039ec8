"""Run a per-unit function over many units in this process, in local worker processes (`local`),
or as Ray tasks (`ray`): `run_units`.

Ray gives scale-out and fault tolerance (a task whose worker dies is retried on another worker);
exactly-once comes from the unit function itself (atomic output + done marker), so a retried
or rerun unit replaces its output instead of duplicating it. No home-made scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from hqclip.errors import Interrupted, UserError
from hqclip.workers import context as workers_context

# every command on the runner: a task may use this much, and is retried this often if its worker dies
RAY_DEFAULTS = {"address": None, "num_cpus": 1, "num_gpus": 0, "max_retries": 3}
_index = 0  # this process's number among the local runner's workers


def worker_index() -> int:
    """This process's number among the local runner's worker processes, from 0 (0 in the main
    process and in Ray tasks): a job on GPUs picks its GPU by it."""
    return _index


def _number(counter) -> None:
    global _index
    with counter.get_lock():
        _index, counter.value = counter.value, counter.value + 1


def run_units(
    todo: Iterable[Any],
    job: Callable[[str], dict[str, Any]],
    runner: str = "local",
    workers: int = 1,
    ray_opts: dict[str, Any] | None = None,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
    collect: bool = True,
) -> list[dict[str, Any]]:
    """`job(unit)` for every unit, each returning its stats; `on_done(unit, stats)` as each ends.
    Returns every unit's stats, or with `collect=False` none (each is only passed to `on_done`,
    so memory stays flat in the number of units when a job returns a large summary).

    `local`: in this process in order (workers <= 1), or in `workers` processes (`hqclip.workers`). `ray`:
    one Ray task per unit (`ray_opts`: any of RAY_DEFAULTS). Exactly-once is the job's: it writes
    its output atomically, then its done marker (`hqclip.units.resume`), so a retried or rerun
    unit replaces its output, never duplicates it. `job` must pickle for processes and Ray (a
    module-level function or a partial of one)."""
    on_done = on_done or (lambda unit, stats: None)
    results: list[dict[str, Any]] = []

    def done(unit: str, stats: dict[str, Any]) -> None:
        if collect:
            results.append(stats)
        on_done(unit, stats)

    if runner == "ray":
        _run_ray(todo, job, {**RAY_DEFAULTS, **(ray_opts or {})}, done)
        return results
    if runner != "local":
        raise UserError(f"unknown --runner {runner!r}; choose local or ray")
    if workers <= 1:
        for unit in todo:
            done(str(unit), job(str(unit)))
        return results
    ctx = workers_context()
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_number, initargs=(ctx.Value("i", 0),)
    ) as pool:
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
    try:
        import ray
    except ImportError:
        raise UserError("--runner ray needs Ray: pip install 'hqclip[ray]'") from None

    owns = not ray.is_initialized()
    if owns:
        # no address: a local cluster of this machine's cores, shut down when the run ends
        ray.init(address=ray_opts["address"], include_dashboard=False, log_to_driver=False)
    task = ray.remote(_call).options(
        max_retries=ray_opts["max_retries"],
        retry_exceptions=False,
        num_cpus=ray_opts["num_cpus"],
        num_gpus=ray_opts["num_gpus"],
    )
    job_ref = ray.put(job)
    pending = {task.remote(job_ref, str(u)): str(u) for u in todo}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            unit = pending.pop(ready[0])
            try:
                stats = ray.get(ready[0])
            except ray.exceptions.RayTaskError as e:
                raise (e.cause if isinstance(e.cause, Exception) else e) from None
            except ray.exceptions.RayError as e:
                raise Interrupted(f"{unit}: Ray gave up on this unit after its retries ({e})") from e
            on_done(unit, stats)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if owns:
            ray.shutdown()
