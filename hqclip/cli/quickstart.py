"""`hqclip quickstart`: the whole cycle on the embedded world (what `make quickstart` runs)."""

from pathlib import Path

import typer

from hqclip.cli.app import app, renamed


@app.command(context_settings=renamed({"out": "output"}))
def quickstart(
    output: Path = typer.Option(
        Path("runs/quickstart"), "--output", help="world, sidecars, models and report go here"
    ),
    full: bool = typer.Option(
        False,
        help="several seeds (mean ± std), the learnability controls "
        "the captioner-error study and one turn of the cycle",
    ),
    seeds: int = typer.Option(3, help="--full: seeds per variant"),
    train_samples: int = typer.Option(None, help="world training samples (default: the plan's)"),
    steps: int = typer.Option(None, help="training steps per model (default: the plan's)"),
    error: float = typer.Option(None, help="simulated captioner error rate (default: the plan's)"),
    world_seed: int = typer.Option(None, help="world seed (default 0; 1000 is the tuning world)"),
) -> None:
    """Generate the world, refine it with the simulated LVLM, train alt-text CLIP and the HQ-CLIP
    ablations, evaluate them all and print the table."""
    from hqclip.quickstart.plan import Plan
    from hqclip.quickstart.run import run

    plan = Plan()
    overrides = {"train_samples": train_samples, "steps": steps, "error": error, "world_seed": world_seed}
    plan = plan.replace(**{k: v for k, v in overrides.items() if v is not None})
    if full:
        plan = plan.replace(seeds=tuple(range(seeds)), error_study=True, controls=True, cycle=True)
    typer.echo(run(plan, output))
