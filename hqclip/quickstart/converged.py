"""The converged plan (`hqclip quickstart --budget converged`): the claim check judges converged
models, not a fixed budget's learning speed and seed luck.

The rule, fixed here before the reported world runs: train the ablation's rows with the plan's
seeds (at least two) on the tuning world (`--world-seed 1000`) for the plan's steps. Training has
converged when, for every row and every family (zero-shot, retrieval, compositional), the move of
the seed mean over the last quarter of training (between the last two of `curve_points` evaluated
checkpoints) is smaller than the seed spread at the end (`verdicts.plateau`). If it has not, double
the steps (from scratch and of the fine-tunes alike) and train again, up to `DOUBLINGS` doublings;
at the cap, the cap is used and the report says that it did not plateau. The reported world is
then trained for the chosen steps with the plan's seeds, and its report judges the claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.quickstart.plan import VARIANTS, Plan, Row
from hqclip.quickstart.run import run

TUNING_WORLD = 1000
DOUBLINGS = 4  # at most 16 × the plan's steps
SHARED = ("world", "sidecars", "cache")  # one tuning world for every round: made once


def _round(plan: Plan, tuning: Path, rows: dict[str, Row]) -> list[dict[str, Any]]:
    """Train and evaluate the rows at `plan.steps` in a folder of their own (the world, sidecars
    and embedding cache shared); returns the report's plateau rows."""
    folder = tuning / f"steps-{plan.steps}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        (tuning / name).mkdir(exist_ok=True)
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(Path("..") / name, target_is_directory=True)
    run(plan, folder, rows)
    return json.loads((folder / "report" / "quickstart.json").read_text())["plateau"]


def _finetune(plan: Plan, steps: int) -> int:
    """The fine-tunes' steps when the from-scratch ones are `steps`: doubled alike."""
    return plan.finetune_steps * steps // plan.steps


def choose_steps(plan: Plan, out: Path, rows: dict[str, Row] = VARIANTS) -> tuple[int, list[dict[str, Any]]]:
    """The steps the rule picks on the tuning world, and each round's plateau rows."""
    if len(plan.seeds) < 2:
        raise ValueError("the plateau rule compares moves with the seed spread: it needs two seeds or more")
    tuning = plan.replace(world_seed=TUNING_WORLD, error_study=False, controls=False, cycle=False)
    history: list[dict[str, Any]] = []
    steps = plan.steps
    while True:
        flat = _round(
            tuning.replace(steps=steps, finetune_steps=_finetune(plan, steps)), out / "tuning", rows
        )
        done = bool(flat) and all(p["plateaued"] for p in flat)
        history.append({"steps": steps, "plateaued": done, "plateau": flat})
        if done or steps >= plan.steps << DOUBLINGS:
            return steps, history
        steps *= 2


def markdown(history: list[dict[str, Any]], steps: int) -> str:
    lines = [
        "## Converged budget (chosen on the tuning world)",
        "",
        "Rule (`hqclip.quickstart.converged`): double the steps until every row's move over the last "
        "quarter of training is smaller than its seed spread, on every family.",
        "",
        "| steps | row | family | move | seed spread | plateaued |",
        "|---|---|---|---|---|---|",
    ]
    for h in history:
        for p in h["plateau"]:
            lines.append(
                f"| {h['steps']} | {p['variant']} | {p['family']} | {100 * p['move']:+.1f} | "
                f"{100 * p['spread']:.1f} | {'yes' if p['plateaued'] else 'NO'} |"
            )
    last = history[-1]
    verdict = "plateaued" if last["plateaued"] else "did NOT plateau by the cap; the cap is used"
    lines += ["", f"Chosen: {steps} steps ({verdict}); the fine-tunes scaled alike.", ""]
    return "\n".join(lines)


def converged(plan: Plan, out: Path, rows: dict[str, Row] = VARIANTS) -> str:
    """Choose the steps on the tuning world, then run the plan on its own world for that long.
    Writes report/converged.json and .md; returns the reported run's summary after the choice."""
    steps, history = choose_steps(plan, out, rows)
    finetune_steps = _finetune(plan, steps)
    summary = run(plan.replace(steps=steps, finetune_steps=finetune_steps), out, rows)
    text = markdown(history, steps)
    write_text(
        out / "report" / "converged.json",
        json.dumps(
            {
                "tuning_world": TUNING_WORLD,
                "steps": steps,
                "finetune_steps": finetune_steps,
                "rounds": history,
            },
            indent=2,
        ),
    )
    write_text(out / "report" / "converged.md", text)
    return text + "\n" + summary
