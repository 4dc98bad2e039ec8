"""One turn of the cycle alone (`hqclip quickstart --full` runs it too), for another error rate, other
seeds or without the truth-filtered bound; see `hqclip.quickstart.cycle`.

    python -m experiments.cycle --out runs/cycle --seeds 0

Writes OUT/report/cycle/{cycle.md, cycle.json, cycle.png, eval/}; world, sidecars, models and
embeddings are shared with `hqclip quickstart --output OUT` (each stage cached on disk)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hqclip.quickstart.cycle import ERROR, cycle, cycle_markdown
from hqclip.quickstart.plan import Plan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/cycle"))
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds, e.g. 0,1,2")
    ap.add_argument("--error", type=float, default=ERROR)
    ap.add_argument("--no-truth-filter", action="store_true", help="skip the truth-filtered bound")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plan = Plan(seeds=tuple(int(x) for x in a.seeds.split(",") if x.strip()))
    print(cycle_markdown(cycle(plan, a.out, a.error, truth_filter=not a.no_truth_filter)))


if __name__ == "__main__":
    main()
