"""The quickstart's verdict rules, fixed before the reported world was run: which compositional
subsets a model of this size can resolve (the learnability controls), whether each of HQ-CLIP's
claims holds beyond the seed spread, and whether training plateaued. Each says True or False only
with more than one seed; with one the spread is unknown and the verdict is None (not judged)."""

from __future__ import annotations

from typing import Any

from hqclip.quickstart.plan import CONTROL_FT, CONTROLS, FINAL, SCRATCH_FINAL, START
from hqclip.quickstart.stages import step_of
from hqclip.quickstart.stats import gain, mean_std, metrics

# the three families the paper's claims are about, and the column that stands for each
FAMILIES = {"zero-shot": "ZS top-1", "retrieval": "retrieval R@1", "compositional": "SugarCrepe"}
# what HQ-CLIP claims, on both paths: (claim, the row measured against, the row, its families)
CLAIMS = (
    ("from scratch: HQ-CLIP > alt-text CLIP on {}", START, SCRATCH_FINAL, tuple(FAMILIES)),
    ("fine-tuned: HQ-CLIP > alt-text control on {}", CONTROL_FT, FINAL, tuple(FAMILIES)),
    ("HNI gain on {} > seed spread", "+ desc", "+ HNI", ("compositional",)),
    ("STC gain on {} > seed spread", "+ HNI", FINAL, ("zero-shot",)),
)
CHANCE = 0.5  # a SugarCrepe pair: two captions


def resolvable(groups: dict) -> dict[str, dict[str, Any]]:
    """Per subset: its control's accuracy on it, the bar (chance + the control's seed spread) and
    whether the control clears it. With one seed the spread is unknown: not judged (None)."""
    out = {}
    for name in CONTROLS:
        subset = name.removeprefix("control: ")
        vals = groups.get((name, 0.0), {}).get(subset)
        if not vals:
            continue
        m, s = mean_std(vals)
        out[subset] = {
            "control": m,
            "spread": s,
            "bar": CHANCE + s,
            "n": len(vals),
            "resolvable": (m > CHANCE + s) if len(vals) > 1 else None,
        }
    return out


def claims(groups: dict, error: float) -> list[dict[str, Any]]:
    """Each of `CLAIMS`: the row beats the row it is measured against by more than the seed-to-seed
    spread (with one seed the spread is unknown: reported, not judged). `groups` already holds
    SugarCrepe as the mean over the resolvable subsets."""
    out = []
    for claim, base, row, families in CLAIMS:
        for family in families:
            a = groups.get((base, error), {}).get(FAMILIES[family], [])
            b = groups.get((row, error), {}).get(FAMILIES[family], [])
            c: dict[str, Any] = {"claim": claim.format(family), "family": family}
            if not a or not b:  # e.g. no compositional subset is resolvable
                c.update(gain=None, spread=None, n=0, holds=None)
            else:
                g, spread = gain(a, b)
                n = min(len(a), len(b))
                c.update(gain=g, spread=spread, n=n, holds=g > spread if n > 1 else None)
            out.append(c)
    return out


def curves(
    runs: list[dict], results: dict, curve_results: dict
) -> dict[str, dict[str, dict[int, list[float]]]]:
    """variant -> family column -> step -> values over seeds (the runs evaluated along the way)."""
    out: dict = {}
    for r in runs:
        if len(r["ckpts"]) < 2:
            continue
        for ck in r["ckpts"]:
            step = step_of(ck)
            label = r["label"] if ck == r["ckpts"][-1] else f"{r['label']} | step {step}"
            res = (results if ck == r["ckpts"][-1] else curve_results)["models"][label]
            m = metrics(res)
            for col in FAMILIES.values():
                out.setdefault(r["variant"], {}).setdefault(col, {}).setdefault(step, []).append(m[col])
    return out


def plateau(curve: dict) -> list[dict[str, Any]]:
    """Per variant and family: the move over the last quarter of training (the last two evaluated
    checkpoints) against the seed spread at the end. Plateaued when the move is smaller."""
    out = []
    for variant, fams in curve.items():
        for col, by_step in fams.items():
            steps = sorted(by_step)
            if len(steps) < 2:
                continue
            end, before = by_step[steps[-1]], by_step[steps[-2]]
            move = mean_std(end)[0] - mean_std(before)[0]
            spread = mean_std(end)[1]
            out.append(
                {
                    "variant": variant,
                    "family": col,
                    "from": steps[-2],
                    "to": steps[-1],
                    "move": move,
                    "spread": spread,
                    "n": len(end),
                    "plateaued": abs(move) < spread if len(end) > 1 else None,
                }
            )
    return out
