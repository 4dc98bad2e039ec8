"""The study behind the quickstart's settings, on the tuning world (seed 1000), never the reported
one: the quickstart's pipeline (`run`) over the ablation's rows plus the alternatives each setting
was chosen over, with any schedule, several seeds, learning curves and the blind test.

    python -m experiments.study --out runs/study --seeds 0,1,2
    python -m experiments.study --out runs/study-lr --lr 2e-3 --rows "alt-text CLIP; HQ-CLIP"
    python -m experiments.study --out runs/study-ft --finetune-lr 1e-4 \
        --rows "alt-text CLIP; alt-text (control); + desc; + HNI; + STC (HQ-CLIP)"

Writes the quickstart's report (quickstart.md/json, curves.png, ...) under OUT/report.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hqclip.quickstart.plan import DESC_MIX, FINAL, SCRATCH_FINAL, START, VARIANTS, Plan, Row
from hqclip.quickstart.run import run

ROWS: dict[str, Row] = {
    **VARIANTS,
    # which STC head: tags through the text tower instead of a linear head on the image embedding
    "HQ-CLIP, STC text head": Row({**VARIANTS[FINAL].overrides, "stc_head": "text"}, START),
    # HNI's weight
    "+ HNI, weight 0.5": Row({**VARIANTS["+ HNI"].overrides, "hni_weight": 0.5}, START),
    "+ HNI, weight 2": Row({**VARIANTS["+ HNI"].overrides, "hni_weight": 2.0}, START),
    # from scratch, the design's text mix: alt-text as the positive for a third of the samples
    "HQ-CLIP, alt-text 0.3": Row({**VARIANTS[SCRATCH_FINAL].overrides, "text_mix": DESC_MIX}),
}


def study(plan: Plan, out: Path, rows: dict[str, Row] = ROWS) -> str:
    if plan.world_seed == Plan().world_seed:
        raise ValueError("the study tunes settings: run it on the tuning world, not the reported one")
    return run(plan, out, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/study"))
    ap.add_argument("--world-seed", type=int, default=1000)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds, e.g. 0,1,2")
    ints = (
        "steps",
        "batch_size",
        "warmup",
        "finetune_steps",
        "finetune_warmup",
        "image_size",
        "curve_points",
    )
    for name in ints:
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(Plan(), name))
    for name in ("lr", "finetune_lr"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(Plan(), name))
    ap.add_argument("--model", default=Plan().model)
    ap.add_argument("--controls", action="store_true", help="train the learnability controls too")
    ap.add_argument(
        "--rows",
        default="; ".join(ROWS),
        help=f"';'-separated subset of (names hold commas): {'; '.join(ROWS)}",
    )
    a = ap.parse_args()
    names = [r.strip() for r in a.rows.split(";") if r.strip()]
    if unknown := [r for r in names if r not in ROWS]:
        ap.error(f"--rows: unknown {unknown}; choose from {list(ROWS)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plan = Plan(
        world_seed=a.world_seed,
        seeds=tuple(int(x) for x in a.seeds.split(",") if x.strip()),
        steps=a.steps,
        batch_size=a.batch_size,
        warmup=a.warmup,
        image_size=a.image_size,
        curve_points=a.curve_points,
        lr=a.lr,
        finetune_steps=a.finetune_steps,
        finetune_warmup=a.finetune_warmup,
        finetune_lr=a.finetune_lr,
        model=a.model,
        controls=a.controls,
    )
    print(study(plan, a.out, {r: ROWS[r] for r in names}))


if __name__ == "__main__":
    main()
