"""`hqclip import-vlm150m` / `export-vlm150m` / `vocab`: the released VLM-150M / VLM-1B per-uid JSON
layout to sidecars beside your image shards (to train on the released annotations) and back (to
publish your own), and the linear STC head's tag vocabulary of a sidecar folder."""

from pathlib import Path

import typer

from hqclip.cli.app import (
    PROGRESS,
    RAY_ADDRESS,
    RAY_CPUS,
    RAY_GPUS,
    RAY_RETRIES,
    RUNNER,
    app,
    ray_opts,
    renamed,
)
from hqclip.errors import UserError


@app.command("import-vlm150m", context_settings=renamed({"shards": "input"}))
def import_vlm150m(
    annotations: Path = typer.Option(
        ...,
        "--annotations",
        help="the release: <NNNNN>/<uid>.json folders and/or .tar/.tar.gz archives of them",
    ),
    shards: str = typer.Option(
        ...,
        "--input",
        help="your img2dataset shards: a folder of tars "
        "(with their <shard>.parquet), a world folder or a brace pattern",
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        help="sidecar folder: one <shard>.parquet per image shard, vocab.json, import-stats.json",
    ),
    workers: int = typer.Option(1, help="local worker processes"),
    runner: str = RUNNER,
    ray_address: str | None = RAY_ADDRESS,
    ray_cpus: float = RAY_CPUS,
    ray_gpus: float = RAY_GPUS,
    ray_retries: int = RAY_RETRIES,
    buckets: int | None = typer.Option(
        None, help="uid hash buckets, a power of two (default: one per 64 shards, at most 256)"
    ),
    memory_limit: str = typer.Option("1GB", help="DuckDB memory per worker before it spills to disk"),
    overwrite: bool = typer.Option(False, help="redo an --output made from other inputs"),
    progress: bool = PROGRESS,
) -> None:
    """Join released annotations to image shards by uid: one sidecar per shard, which
    `hqclip train --sidecars` reads. Resumable: rerun the same command after a crash."""
    import json

    from hqclip.vlm150m.importer import import_vlm150m as do_import

    stats = do_import(
        annotations,
        shards,
        output,
        workers=workers,
        runner=runner,
        ray_opts=ray_opts(ray_address, ray_cpus, ray_gpus, ray_retries),
        buckets=buckets,
        overwrite=overwrite,
        progress=progress,
        memory_limit=memory_limit,
    )
    typer.echo(json.dumps(stats, indent=1))


@app.command("vocab")
def vocab(
    sidecars: Path = typer.Option(..., "--sidecars", help="sidecar folder (refine's or imported)"),
    size: int = typer.Option(
        10_000, help="most frequent tags kept (training uses the first --vocab-size of them)"
    ),
    workers: int = typer.Option(1, help="worker processes reading sidecars"),
) -> None:
    """Count the tags of every sidecar once and store the linear STC head's vocab.json beside
    them (`hqclip refine` and `import-vlm150m` do this when they finish)."""
    from hqclip.data.vocab import write_vocab

    if not sidecars.is_dir():
        raise UserError(f"--sidecars {sidecars}: no such folder")
    typer.echo(str(write_vocab(sidecars, size, workers)))


@app.command("export-vlm150m", context_settings=renamed({"out": "output"}))
def export_vlm150m(
    sidecars: Path = typer.Option(..., "--sidecars", help="folder of sidecars (refine's or imported)"),
    out: Path = typer.Option(..., "--output", help="output folder: <NNNNN>/<uid>.json per sample"),
) -> None:
    """Write the released VLM-150M layout (one JSON per uid) from sidecars; ok rows only."""
    from hqclip.data.vlm150m import export_vlm150m as do_export

    typer.echo(do_export(sidecars, out))
