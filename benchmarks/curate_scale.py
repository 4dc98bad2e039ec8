"""Memory of `hqclip report` and `hqclip filter` (issue 15) at two dataset sizes in one run: a ratio
between the sizes, never a timed assertion. Nothing in either should grow with the number of
records: each sidecar is summarised (report) or filtered on its own, the percentile rule's pass
folds one fixed-size histogram per score file, and tag / word counts go through DuckDB with a
memory limit.

For each N it writes N synthetic records (~1 KB each, long-tailed tags and words, so the number
of distinct tags grows with N as in a real release) as sidecars of 10k rows and their score
sidecars, then runs, each in a fresh process, `hqclip report --scores` and `hqclip filter
--min-margin 0 --drop-bottom-pct 10`, sampling the process's RSS every 50 ms.

    nice -n 10 python benchmarks/curate_scale.py                        # N = 100k and 1M
    python benchmarks/curate_scale.py --sizes 20000,100000 --root /tmp/c
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from pathlib import Path

from hqclip.curate.score_format import write_scores
from hqclip.data.sidecar import write_sidecar

from common import measure, parser, smoke_defaults, write_result

PER_SHARD = 10_000
WORDS = (
    "red blue green yellow black white small large wooden metal glass vintage modern round "
    "square striped dotted shiny matte necklace table chair dog cat car bicycle lamp vase "
    "shirt dress bottle cup plate book phone watch bag shoe hat tree flower house road"
).split()


def write(root: Path, n: int) -> tuple[Path, Path]:
    sidecars, scores = root / "sidecars", root / "scores"
    for s in range(0, n, PER_SHARD):
        rows, srows = [], []
        for i in range(s, min(n, s + PER_SHARD)):
            rng = random.Random(i)
            k, t = rng.randint(2, 5), rng.randint(3, 8)
            desc = [" ".join(rng.choices(WORDS, k=8)) + f" w{int(rng.paretovariate(1.2))}" for _ in range(k)]
            neg = [d.replace(d.split()[0], "other", 1) for d in desc]
            tags = list(
                dict.fromkeys(f"{rng.choice(WORDS)} t{int(rng.paretovariate(1.0))}" for _ in range(t))
            )
            uid = f"{i:032x}"
            rows.append(
                {
                    "uid": uid,
                    "key": f"{i:09d}",
                    "status": "ok",
                    "attempts": 1,
                    "tokens_in": 900,
                    "tokens_out": 200,
                    "desc": desc,
                    "neg_desc": neg,
                    "tags": tags,
                    "neg_tags": [f"not {x}" for x in tags],
                }
            )
            d = [rng.uniform(-0.2, 0.5) for _ in desc]
            nd = [rng.uniform(-0.2, 0.5) for _ in desc]
            srows.append(
                {
                    "uid": uid,
                    "key": f"{i:09d}",
                    "status": "ok",
                    "alt": rng.uniform(-0.2, 0.5),
                    "desc": d,
                    "neg_desc": nd,
                    "margin": [a - b for a, b in zip(d, nd)],
                    "tags": [0.1] * len(tags),
                    "neg_tags": [0.0] * len(tags),
                }
            )
        name = f"{s // PER_SHARD:05d}.parquet"
        write_sidecar(sidecars / name, rows)
        write_scores(scores / name, srows, {})
    return sidecars, scores


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--root", type=Path, default=Path("runs/curate-scale"))
    a = smoke_defaults(ap, sizes="1000", root=Path("runs/bench-smoke/curate-scale"))
    hq = [sys.executable, "-m", "hqclip.cli.main"]
    res: dict[int, dict] = {}
    for n in [int(x) for x in a.sizes.split(",")]:
        root = a.root / str(n)
        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        sidecars, scores = write(root, n)
        print(
            f"N={n}: wrote {n // PER_SHARD + (n % PER_SHARD > 0)} sidecars in "
            f"{time.perf_counter() - t:.0f} s",
            flush=True,
        )
        runs = {
            "report": measure(
                [
                    *hq,
                    "report",
                    "--sidecars",
                    str(sidecars),
                    "--scores",
                    str(scores),
                    "--output",
                    str(root / "report"),
                    "--no-progress",
                ]
            ),
            "filter": measure(
                [
                    *hq,
                    "filter",
                    "--sidecars",
                    str(sidecars),
                    "--scores",
                    str(scores),
                    "--output",
                    str(root / "filtered"),
                    "--min-margin",
                    "0",
                    "--drop-bottom-pct",
                    "10",
                    "--no-progress",
                ]
            ),
        }
        res[n] = {
            k: {"peak_rss": m.peak_rss, "wall_s": m.wall_s, "records_per_s": n / m.wall_s}
            for k, m in runs.items()
        }
        for k, m in res[n].items():
            print(
                f"N={n} {k}: peak RSS {m['peak_rss'] / 2**20:.0f} MiB, {m['wall_s']:.0f} s "
                f"({m['records_per_s']:,.0f} records/s)",
                flush=True,
            )
    small, large = min(res), max(res)
    ratios = {k: res[large][k]["peak_rss"] / res[small][k]["peak_rss"] for k in ("report", "filter")}
    for k, r in ratios.items():
        print(f"{k}: peak RSS at N={large:,} / at N={small:,} = {r:.2f} (records x{large / small:g})")
    write_result("curate_scale", a, {"by_size": res, "rss_ratio_large_over_small": ratios})


if __name__ == "__main__":
    main()
