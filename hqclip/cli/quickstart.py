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
    seeds: int = typer.Option(3, help="--full and --budget converged: seeds per variant"),
    train_samples: int = typer.Option(None, help="world training samples (default: the plan's)"),
    steps: int = typer.Option(None, help="training steps per model (default: the plan's)"),
    error: float = typer.Option(None, help="simulated captioner error rate (default: the plan's)"),
    world_seed: int = typer.Option(None, help="world seed (default 0; 1000 is the tuning world)"),
    device: str = typer.Option(
        None, help="cuda | cpu: train and evaluate there (default: training's choice, evaluation on CPU)"
    ),
    budget: str = typer.Option(
        "fixed",
        help="fixed: the plan's steps | converged: steps doubled on the tuning world until every "
        "family's curve plateaus (docs/quickstart), then --seeds seeds on the reported world",
    ),
) -> None:
    """Generate the world, refine it with the simulated LVLM, train alt-text CLIP and the HQ-CLIP
    ablations, evaluate them all and print the table."""
    import torch

    from hqclip.errors import UserError
    from hqclip.quickstart.converged import converged
    from hqclip.quickstart.plan import Plan
    from hqclip.quickstart.run import run

    if budget not in ("fixed", "converged"):
        raise UserError(f"--budget {budget}: expected fixed or converged")
    if device not in (None, "cpu", "cuda"):
        raise UserError(f"--device {device}: expected cuda or cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no usable GPU here (torch.cuda.is_available() is False); use cpu")
    if budget == "converged" and seeds < 2:
        raise UserError(f"--budget converged --seeds {seeds}: the plateau rule needs two seeds or more")
    plan = Plan()
    overrides = {
        "train_samples": train_samples,
        "steps": steps,
        "error": error,
        "world_seed": world_seed,
        "device": device,
    }
    plan = plan.replace(**{k: v for k, v in overrides.items() if v is not None})
    if full:
        plan = plan.replace(seeds=tuple(range(seeds)), error_study=True, controls=True, cycle=True)
    if budget == "converged":
        typer.echo(converged(plan.replace(seeds=tuple(range(seeds))), output))
    else:
        typer.echo(run(plan, output))
