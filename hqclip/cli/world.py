"""`hqclip world`: generate the synthetic compositional world."""

import dataclasses
from pathlib import Path
from typing import Any

import typer

from hqclip.cli.app import app, renamed
from hqclip.cli.options import config_options, with_options
from hqclip.world.config import AltTextNoise, WorldConfig

# eval split sizes are set through --eval-scale
EVAL_SIZES = ("zeroshot_per_class", "retrieval_samples", "sugarcrepe_per_subset", "winoground_samples")


@app.command(context_settings=renamed({"out": "output"}))
@with_options(config_options(WorldConfig, skip=(*EVAL_SIZES, "alt_text")), config_options(AltTextNoise),
              after="output")
def world(
    output: Path = typer.Option(..., "--output", help="output folder"),
    eval_scale: float = typer.Option(1.0, help="multiply the size of every eval split"),
    workers: int = typer.Option(0, help="processes (0: all cores)"),
    force: bool = typer.Option(False, help="regenerate even if a complete world of this config exists"),
    **fields: Any,
) -> None:
    """Generate train shards and held-out eval splits; prints the generation rate."""
    from hqclip.world.build import build_world

    noise = {f.name: fields.pop(f.name) for f in dataclasses.fields(AltTextNoise)}
    cfg = WorldConfig(**fields, alt_text=AltTextNoise(**noise)).with_eval_scale(eval_scale)
    m = build_world(output, cfg, workers=workers or None, reuse=not force)
    if m["cached"]:
        typer.echo(f"{output}: complete world with this config already there (use --force to redo)")
    t = m["timing"]
    typer.echo(f"{output}: {m['train']['samples']} train samples in {len(m['train']['shards'])} shards, "
               f"eval {m['eval']}")
    typer.echo(f"train generation: {t['train_seconds']} s ({t['train_samples_per_s']} samples/s, "
               f"{t['workers']} workers); total {t['total_seconds']} s")
