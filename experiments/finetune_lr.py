"""The fine-tune path's learning rate, chosen on the tuning world (seed 1000), never the reported
one: the quickstart's alt-text CLIP from scratch, then its four fine-tune rows at each learning
rate, one table. The rule, fixed before the run: take the rate whose fine-tune rows have the
highest mean, over the four rows, of the three families' columns (zero-shot top-1, mean retrieval
R@1, SugarCrepe) — the control counts as much as the HQ-CLIP rows, so the rate is not picked for
the gap between them.

    python -m experiments.finetune_lr --out runs/finetune-lr --lrs 1e-4,3e-4,1e-3,3e-3
"""

from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path

from hqclip.clip.load import ModelSpec
from hqclip.eval import evaluate
from hqclip.quickstart.plan import START, VARIANTS, Plan
from hqclip.quickstart.stages import Job, make_sidecars, make_world, train_all
from hqclip.quickstart.stats import metrics

COLS = ("ZS top-1", "ZS held-out top-1", "I→T R@1", "T→I R@1", "SugarCrepe")
FAMILIES = ("ZS top-1", "retrieval R@1", "SugarCrepe")


def sweep(plan: Plan, out: Path, lrs: list[float]) -> str:
    if plan.world_seed == Plan().world_seed:
        raise ValueError("the sweep tunes a setting: run it on the tuning world, not the reported one")
    world = make_world(plan, out)
    sidecars = make_sidecars(plan, world, out, plan.error)
    start = Job(START, plan.seeds[0], sidecars, VARIANTS[START].overrides)
    specs = [ModelSpec(START, plan.model, str(start.last_checkpoint(plan, out)))]
    rows = {v: r for v, r in VARIANTS.items() if r.start == START}
    for lr in lrs:
        at = plan.replace(finetune_lr=lr)
        jobs = [Job(f"ft {v} lr{lr:g}", start.seed, sidecars, r.overrides, 1, start) for v, r in rows.items()]
        for v, ckpts in zip(rows, train_all(at, world, out, jobs)):
            specs.append(ModelSpec(f"{v}, lr {lr:g}", plan.model, str(ckpts[-1])))
    results = evaluate(specs, world, out / "eval", cache_dir=out / "cache", device=plan.device or "cpu")
    scores = {s.label: metrics(results["models"][s.label]) for s in specs}
    lines = ["| model | " + " | ".join(COLS) + " | mean of the families |", "|---" * (len(COLS) + 2) + "|"]
    for label, m in scores.items():
        fam = statistics.mean(m[c] for c in FAMILIES)
        lines.append(
            f"| {label} | " + " | ".join(f"{100 * m[c]:.1f}" for c in COLS) + f" | {100 * fam:.1f} |"
        )
    by_lr = {lr: statistics.mean(scores[f"{v}, lr {lr:g}"][c] for v in rows for c in FAMILIES) for lr in lrs}
    lines += ["", "| learning rate | mean over the four fine-tune rows |", "|---|---|"]
    lines += [f"| {lr:g} | {100 * v:.2f} |" for lr, v in by_lr.items()]
    lines += ["", f"Chosen: {max(by_lr, key=by_lr.get):g}."]
    text = "\n".join(lines) + "\n"
    (out / "finetune_lr.md").write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/finetune-lr"))
    ap.add_argument("--world-seed", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="training seed of the start and the fine-tunes")
    ap.add_argument("--lrs", default="1e-4,3e-4,1e-3,3e-3", help="comma-separated fine-tune learning rates")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plan = Plan(world_seed=a.world_seed, seeds=(a.seed,))
    print(sweep(plan, a.out, [float(x) for x in a.lrs.split(",") if x.strip()]))


if __name__ == "__main__":
    main()
