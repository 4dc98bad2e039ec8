"""`hqclip world`: generate the synthetic compositional world."""

import dataclasses
from pathlib import Path
from typing import Any

import typer

from hqclip.cli.app import app, renamed
from hqclip.cli.options import config_options, config_values, with_options
from hqclip.world.config import AltTextNoise, WorldConfig

# not options: the eval split sizes (set through --eval-scale), and max_objects (the eval splits
# need scenes of up to 4 objects)
NOT_OPTIONS = (
    "zeroshot_per_class",
    "retrieval_samples",
    "sugarcrepe_per_subset",
    "winoground_samples",
    "max_objects",
    "alt_text",
)


@app.command(context_settings=renamed({"out": "output"}))
@with_options(config_options(WorldConfig, skip=NOT_OPTIONS), config_options(AltTextNoise), after="output")
def world(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        help="replay a world from its world.json; "
        "options given here override it (--eval-scale scales its "
        "eval sizes)",
    ),
    output: Path = typer.Option(..., "--output", help="output folder"),
    eval_scale: float = typer.Option(1.0, help="multiply the size of every eval split"),
    workers: int = typer.Option(0, help="processes (0: all cores)"),
    force: bool = typer.Option(False, help="regenerate even if a complete world of this config exists"),
    **fields: Any,
) -> None:
    """Generate train shards and held-out eval splits; prints the generation rate."""
    from hqclip.world.build import build_world

    values = config_values(ctx, WorldConfig, fields, config)
    noise = {
        **values.pop("alt_text", {}),
        **{f.name: values.pop(f.name) for f in dataclasses.fields(AltTextNoise) if f.name in values},
    }
    cfg = WorldConfig(**values, alt_text=AltTextNoise(**noise)).with_eval_scale(eval_scale)
    m = build_world(output, cfg, workers=workers or None, reuse=not force)
    if m["cached"]:
        typer.echo(f"{output}: complete world with this config already there (use --force to redo)")
    t = m["timing"]
    typer.echo(
        f"{output}: {m['train']['samples']} train samples in {len(m['train']['shards'])} shards, "
        f"eval {m['eval']}"
    )
    typer.echo(
        f"train generation: {t['train_seconds']} s ({t['train_samples_per_s']} samples/s, "
        f"{t['workers']} workers); total {t['total_seconds']} s"
    )
