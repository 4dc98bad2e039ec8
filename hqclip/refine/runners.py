"""`run_refine`: every shard of an input refined into sidecars on the per-unit runner
(`hqclip.units`: in this process, local worker processes, or Ray tasks), exactly once."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from hqclip.data.inputs import estimate_total, resolve_inputs
from hqclip.data.sidecar import sidecar_path
from hqclip.data.vocab import write_vocab
from hqclip.refine import preflight
from hqclip.refine.backends import Backend, backend_class
from hqclip.refine.config import RefineConfig
from hqclip.refine.fingerprint import fingerprint_parts
from hqclip.refine.pipeline import Progress, refine_shard
from hqclip.refine.sample import sample_fraction
from hqclip.refine.stats import run_stats
from hqclip.units.stage import run_stage

_backends: dict[str, Backend] = {}  # per process: a worker reuses its loaded model for each shard


def _backend(cfg: RefineConfig) -> Backend:
    key = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    if key not in _backends:
        _backends[key] = backend_class(cfg.backend)(cfg)
    return _backends[key]


def clear_backends() -> None:
    """Close this process's backends (models, HTTP clients); a later run builds new ones."""
    while _backends:
        _backends.popitem()[1].close()


def _shard_job(
    unit: str,
    out_dir: str,
    cfg: dict[str, Any],
    fp: str,
    progress: Progress | None = None,
    fraction: float | None = None,
) -> dict[str, Any]:
    """One shard, with this process's backend for `cfg` (built by its first shard)."""
    cfg_obj = RefineConfig.from_dict(cfg)
    return refine_shard(unit, out_dir, cfg_obj, _backend(cfg_obj), fp, progress, fraction)


def run_refine(
    cfg: RefineConfig,
    inputs: str | Path,
    out_dir: str | Path,
    runner: str = "local",
    overwrite: bool = False,
    ray_opts: dict[str, Any] | None = None,
    progress: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Refine every shard of `inputs` into sidecars under `out_dir`, skipping shards already done
    under the same configuration. A configuration that cannot serve the input raises
    `UserError` first. Writes and returns the stats JSON (`refine-stats.json`); on failure
    the stats of the finished shards are still written before the error propagates. With
    `cfg.sample`, only a seed set of about that many samples (`hqclip.refine.sample`). With one local
    worker the model is built in this process (and closed at the end); else each worker or Ray
    task builds its own and this process builds none, so no model or CUDA state is in a parent."""
    out = Path(out_dir)
    units = resolve_inputs(inputs)
    cfg = preflight.check(cfg, units, out)  # refuses, before any work, what cannot succeed
    fraction = None if cfg.sample is None else sample_fraction(cfg.sample, units)

    def estimate(todo: list[Path]) -> int:
        total = estimate_total(todo)
        return total if fraction is None else round(total * fraction)

    def summarise(finished, before, seconds):
        this_run = [s for u, s in finished.items() if u not in before]
        return {
            **run_stats(list(finished.values()), this_run, seconds, len(before)),
            "model": backend_class(cfg.backend).identity(cfg),
            "shards_total": len(units),
        }

    try:
        stats = run_stage(
            "refine",
            out,
            units,
            partial(_shard_job, out_dir=str(out), cfg=cfg.to_dict(), fraction=fraction),
            summarise,
            parts=fingerprint_parts(cfg, fraction),
            config=cfg.to_dict(),
            output_of=partial(sidecar_path, out_dir=out),
            overwrite=overwrite,
            runner=runner,
            workers=workers,
            ray_opts=ray_opts,
            live=True,
            progress=progress,
            count="samples",
            valid=True,
            estimate=estimate,
        )
    finally:
        clear_backends()
    if stats["total"]["shards"] == len(units):  # every shard refined: the STC head's vocabulary
        write_vocab(out, workers=workers, progress=progress)
    return stats
