"""`hqclip quickstart`: the whole cycle on the embedded world (what `make quickstart` runs)."""

from pathlib import Path

import typer

from hqclip.cli.app import app


@app.command()
def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), help="where the world, sidecars, models and report go"),
    train_samples: int = typer.Option(20_000, help="world training samples"),
) -> None:
    """Generate (or reuse) the world and print its summary."""
    from hqclip.world.build import build_world
    from hqclip.world.config import WorldConfig

    m = build_world(out / "world", WorldConfig(train_samples=train_samples))
    state = "reused" if m["cached"] else f"generated at {m['timing']['train_samples_per_s']} samples/s"
    typer.echo(f"world: {m['train']['samples']} train samples ({state}); eval splits {m['eval']}")
