"""What every benchmark shares: its command-line switches (`--smoke`, `--results`), a small world
to run on, a child process measured for wall time, CPU time and peak RSS of its whole process
tree, targets printed as met or not met, and one JSON result file per run (git sha, host, the
numbers), so that docs can be generated from results instead of copied by hand."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.world.build import build_world
from hqclip.world.config import WorldConfig

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
SMOKE_RESULTS = REPO / "runs" / "bench-smoke"  # smoke runs check the code, not the numbers


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the switches every benchmark has."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes (seconds): checks that the benchmark still runs, not what it measures",
    )
    ap.add_argument(
        "--results",
        type=Path,
        default=None,
        help=f"folder of the JSON result (default {RESULTS.relative_to(REPO)}, with --smoke "
        f"{SMOKE_RESULTS.relative_to(REPO)})",
    )
    return ap


def smoke_defaults(ap: argparse.ArgumentParser, **tiny) -> argparse.Namespace:
    """Parse; with --smoke, the options left at their defaults take the tiny values."""
    args = ap.parse_args()
    if args.smoke:
        for k, v in tiny.items():
            if getattr(args, k) == ap.get_default(k):
                setattr(args, k, v)
    return args


def small_world(
    root: Path,
    train_samples: int,
    shard_size: int,
    image_size: int = 64,
    sidecars: bool = False,
    workers: int | None = None,
) -> Path:
    """A world of `train_samples` training images and one item per eval split; with `sidecars`,
    the oracle's (a perfect simulated LVLM) annotations in `root/sidecars`."""
    build_world(
        root,
        WorldConfig(
            train_samples=train_samples, shard_size=shard_size, image_size=image_size
        ).with_eval_scale(0),
        workers=workers,
        progress=False,
    )
    if sidecars:
        run_refine(RefineConfig(backend="oracle"), root / "train", root / "sidecars", progress=False)
    return root


class TreeRSS:
    """Peak of the summed RSS of a process and its descendants, sampled from /proc every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.stop = pid, 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _children() -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                kids.setdefault(ppid, []).append(int(p))
        return kids

    def _rss(self) -> int:
        kids, todo, total = self._children(), [self.pid], 0
        while todo:
            p = todo.pop()
            todo += kids.get(p, [])
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def _run(self) -> None:
        while not self.stop:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.05)

    def close(self) -> int:
        self.stop = True
        self.thread.join()
        return self.peak


@dataclass
class Measured:
    wall_s: float
    peak_rss: int  # bytes, summed over the process tree
    first_line_s: float | None  # seconds until the watched file had a line
    cpu_s: float  # CPU seconds of the whole tree


def measure(cmd: list[str], until: Path | None = None) -> Measured:
    """Run `cmd` to its end (its failure raises, with the tail of its output), sampling the RSS of
    its process tree; `until`: a file whose first line's arrival is timed."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss = TreeRSS(proc.pid)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()  # a full pipe would stall the child
    first = None
    while proc.poll() is None:
        if until is not None and first is None and until.exists() and until.read_text().strip():
            first = time.perf_counter() - t
        time.sleep(0.02)
    reader.join()
    wall, peak = time.perf_counter() - t, rss.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{''.join(out)[-3000:]}")
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Measured(wall, peak, first, cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)


def target(name: str, value: float, op: str, bound: float, applies: bool = True) -> dict:
    """Print whether `value op bound` holds (op: '<=' or '>='); `applies`=False where the target is
    set for another setting (a GPU target on a CPU run, any target in a smoke run). Returns the
    record for the JSON."""
    met = value <= bound if op == "<=" else value >= bound
    verdict = ("met" if met else "NOT MET") if applies else "not judged in this setting"
    print(f"target {name}: {value:.2f} (target {op} {bound:g}): {verdict}")
    return {"value": value, "target": f"{op} {bound:g}", "met": met if applies else None}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def cost() -> dict:
    """Wall and CPU seconds of this process (children included) since it started."""
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": float(Path("/proc/uptime").read_text().split()[0]) - started,
        "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
    }


def host() -> dict:
    mem = next(
        (
            int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        None,
    )
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "mem_total": mem,
        "load_avg_1m": os.getloadavg()[0],
    }


def write_result(name: str, args: argparse.Namespace, results: dict) -> Path:
    """`<results>/<name>.json`: the numbers with the code (git sha, dirty or not), host and options
    that produced them."""
    folder = args.results or (SMOKE_RESULTS if args.smoke else RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    record = {
        "benchmark": name,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_sha": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "-uno")),
        "host": host(),
        "options": options,
        "cost": cost(),
        "results": results,
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"wrote {path} ({record['cost']['wall_s']:.0f} s, {record['cost']['cpu_s']:.0f} CPU-s)")
    return path
