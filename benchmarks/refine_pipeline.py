"""Throughput of the refine pipeline itself (read tar, decode image, render prompt, parse,
validate, write sidecar) with the oracle backend, which costs almost nothing: the figure says how
many samples/s the pipeline can feed a GPU LVLM. Prints samples/s per worker count and a cProfile
of one shard grouped by stage.

    .venv/bin/python benchmarks/refine_pipeline.py --samples 20000 --workers 1 2
"""

from __future__ import annotations

import collections
import cProfile
import os
import pstats
import resource
import shutil
import tempfile
import time
from pathlib import Path

from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine

from common import parser, small_world, smoke_defaults, write_result

STAGES = [  # (stage, function whose cumulative time measures it)
    ("tar read (hqclip.data.shards.iter_shard)", "iter_shard"),
    ("image decode (hqclip.data.samples.decode_image)", "decode_image"),
    ("prompt render", "render"),
    ("oracle backend (simulated model)", "generate"),
    ("parse: json + normalize + validate", "parse"),
    ("  of which hqclip.schema.validate", "validate"),
    ("  of which hqclip.schema.normalize", "normalize"),
    ("sidecar write (parquet, fsync, rename)", "write_sidecar"),
]


def profile_by_stage(world: Path, tmp: Path) -> tuple[float, list[tuple[str, float]]]:
    """cProfile of one shard in one process: each stage's cumulative time as % of the run."""
    prof = cProfile.Profile()
    cfg = RefineConfig(batch_size=64)
    prof.runcall(run_refine, cfg, sorted((world / "train").glob("*.tar"))[0], tmp / "prof", progress=False)
    stats = pstats.Stats(prof)
    cum: dict[str, float] = collections.defaultdict(float)
    for (_file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        cum[func] += ct
    total = stats.total_tt
    return total, [(label, 100 * cum[func] / total) for label, func in STAGES]


def _cpu() -> float:
    """CPU seconds of this process and its finished children: unlike wall time, not inflated by
    other load on the machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--shard-size", type=int, default=1_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--world", type=Path, help="reuse/build the world here (default: temp dir)")
    args = smoke_defaults(ap, samples=200, shard_size=100, workers=[1])
    tmp = Path(tempfile.mkdtemp(prefix="hqclip-bench-"))
    world = args.world or tmp / "world"
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    results: dict = {"runs": {}}
    try:
        small_world(world, args.samples, args.shard_size)
        for w in args.workers:
            out = tmp / f"out-{w}"
            start, cpu0 = time.perf_counter(), _cpu()
            stats = run_refine(RefineConfig(batch_size=64), world, out, progress=False, workers=w)
            wall, cpu = time.perf_counter() - start, _cpu() - cpu0
            n = stats["total"]["samples"]
            results["runs"][w] = {
                "samples": n,
                "wall_s": wall,
                "cpu_s": cpu,
                "samples_per_s": n / wall,
                "samples_per_cpu_s": n / cpu,
                "valid_pct": stats["total"]["valid_pct"],
            }
            print(
                f"workers={w}: {n} samples in {wall:.2f} s wall = {n / wall:,.0f} samples/s "
                f"(valid {stats['total']['valid_pct']}%); {cpu:.2f} CPU-s = {n / cpu:,.0f} "
                f"samples per CPU-second"
            )
            shutil.rmtree(out)
        total, stages = profile_by_stage(world, tmp)
        results["profile"] = {"seconds": total, "pct_by_stage": dict(stages)}
        print(f"where the time goes (cProfile, one shard, one process, {total:.2f} s profiled):")
        for stage, pct in stages:
            print(f"  {stage:50s} {pct:5.1f}%")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result("refine_pipeline", args, results)


if __name__ == "__main__":
    main()
