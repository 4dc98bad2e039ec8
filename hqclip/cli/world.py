"""`hqclip world`: generate the synthetic compositional world."""

from pathlib import Path

import typer

from hqclip.cli.app import app


@app.command()
def world(
    out: Path = typer.Option(..., "--out", help="output folder"),
    train_samples: int = typer.Option(20_000, help="training samples"),
    seed: int = typer.Option(0, help="world seed: same seed, same world"),
    image_size: int = typer.Option(64, help="rendered image side in pixels"),
    shard_size: int = typer.Option(2_000, help="samples per train shard"),
    eval_scale: float = typer.Option(1.0, help="multiply the size of every eval split"),
    workers: int = typer.Option(0, help="processes (0: all cores)"),
    mention_rate: float = typer.Option(0.5, help="alt-text: chance each object is named"),
    wrong_attr_rate: float = typer.Option(0.2, help="alt-text: chance a named object is wrong"),
    irrelevant_rate: float = typer.Option(0.6, help="alt-text: chance of stock-site filler"),
    empty_rate: float = typer.Option(0.1, help="alt-text: chance of no alt-text"),
    force: bool = typer.Option(False, help="regenerate even if a complete world of this config exists"),
) -> None:
    """Generate train shards and held-out eval splits; prints the generation rate."""
    from hqclip.world.build import build_world
    from hqclip.world.config import AltTextNoise, WorldConfig

    cfg = WorldConfig(
        seed=seed, image_size=image_size, train_samples=train_samples, shard_size=shard_size,
        alt_text=AltTextNoise(mention_rate, wrong_attr_rate, irrelevant_rate, empty_rate),
    ).with_eval_scale(eval_scale)
    m = build_world(out, cfg, workers=workers or None, reuse=not force)
    if m["cached"]:
        typer.echo(f"{out}: complete world with this config already there (use --force to redo)")
    t = m["timing"]
    typer.echo(f"{out}: {m['train']['samples']} train samples in {len(m['train']['shards'])} shards, "
               f"eval {m['eval']}")
    typer.echo(f"train generation: {t['train_seconds']} s ({t['train_samples_per_s']} samples/s, "
               f"{t['workers']} workers); total {t['total_seconds']} s")
