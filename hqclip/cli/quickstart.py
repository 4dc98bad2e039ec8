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
        help="all of: 3 seeds (mean ± std) of the starts and the fine-tunes, the learnability "
        "controls, the captioner-error study, the WiSE-FT sweep and one turn of the cycle",
    ),
    seeds: int = typer.Option(None, help="seeds per row (default 1; 3 with --full or --budget converged)"),
    controls: bool = typer.Option(False, help="the learnability controls (part of --full)"),
    error_study: bool = typer.Option(False, help="HQ-CLIP at 0 and 30 % captioner error (part of --full)"),
    wise_ft: bool = typer.Option(
        False, help="the WiSE-FT sweep between alt-text CLIP and its HQ-CLIP fine-tune (part of --full)"
    ),
    cycle: bool = typer.Option(False, help="one turn of the cycle at 30 % error (part of --full)"),
    train_samples: int = typer.Option(None, help="world training samples (default: the plan's)"),
    steps: int = typer.Option(None, help="training steps from scratch (default: the plan's)"),
    finetune_steps: int = typer.Option(None, help="training steps of each fine-tune (default: the plan's)"),
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
    """Generate the world, refine it with the simulated LVLM, train alt-text CLIP and HQ-CLIP from
    scratch and the HQ-CLIP ablation as fine-tunes of that alt-text CLIP, evaluate them all and
    print the tables."""
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
    if seeds is None:
        seeds = 3 if full or budget == "converged" else 1
    if seeds < 1:
        raise UserError(f"--seeds {seeds}: expected 1 or more")
    if budget == "converged" and seeds < 2:
        raise UserError(f"--budget converged --seeds {seeds}: the plateau rule needs two seeds or more")
    plan = Plan()
    overrides = {
        "train_samples": train_samples,
        "steps": steps,
        "finetune_steps": finetune_steps,
        "error": error,
        "world_seed": world_seed,
        "device": device,
    }
    plan = plan.replace(**{k: v for k, v in overrides.items() if v is not None})
    plan = plan.replace(
        seeds=tuple(range(seeds)),
        controls=full or controls,
        error_study=full or error_study,
        wise_ft=full or wise_ft,
        cycle=full or cycle,
    )
    if budget == "converged":
        typer.echo(converged(plan, output))
    else:
        typer.echo(run(plan, output))
