"""`hqclip score`, `hqclip filter`, `hqclip report`: a trained CLIP scores refined data, rules drop
what it doubts, and a quality report of any refined dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hqclip.cli.app import PROGRESS, RAY_ADDRESS, RAY_CPUS, RAY_GPUS, RAY_RETRIES, RUNNER, app, ray_opts


@app.command()
def score(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help=(
            "[LABEL=]NAME[:CHECKPOINT]: an open_clip model name and a checkpoint file or pretrained "
            "tag, as `hqclip eval` takes them, e.g. hqclip-tiny:runs/a/checkpoints/latest.pt"
        ),
    ),
    input: str = typer.Option(
        ...,
        "--input",
        help="the shards that were refined: world folder, "
        "folder of tars or caption tables, one tar, or a brace pattern",
    ),
    sidecars: Path = typer.Option(..., "--sidecars", help="their sidecar folder (hqclip refine --output)"),
    output: Path = typer.Option(..., "--output", help="score sidecar folder (one parquet per shard)"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, ..."),
    batch_size: int = typer.Option(64, help="images per forward pass (their texts go together)"),
    runner: str = RUNNER,
    workers: int = typer.Option(1, help="local: processes over shards, each with its own model"),
    ray_address: str | None = RAY_ADDRESS,
    ray_cpus: float = RAY_CPUS,
    ray_gpus: float = RAY_GPUS,
    ray_retries: int = RAY_RETRIES,
    overwrite: bool = typer.Option(False, help="rescore shards scored by a different model"),
    progress: bool = PROGRESS,
) -> None:
    """Score each sample's alt-text, description sentences and their negatives, tags and negative
    tags against its image (resumable; rerun to continue)."""
    from hqclip.curate.score import run_score
    from hqclip.units.stage import stats_name

    stats = run_score(
        model,
        input,
        sidecars,
        output,
        device=device,
        batch_size=batch_size,
        runner=runner,
        workers=workers,
        overwrite=overwrite,
        ray_opts=ray_opts(ray_address, ray_cpus, ray_gpus, ray_retries),
        progress=progress,
    )
    typer.echo(json.dumps({**stats, "stats": str(output / stats_name("score"))}))


@app.command("filter")
def filter_cmd(
    sidecars: Path = typer.Option(..., "--sidecars", help="the refined sidecars"),
    scores: Path = typer.Option(..., "--scores", help="their scores (hqclip score --output)"),
    output: Path = typer.Option(
        ..., "--output", help="filtered sidecar folder: pass it to `hqclip train --sidecars`"
    ),
    min_margin: float | None = typer.Option(
        None, help="drop a description sentence (and its negative) whose margin over its negative is below"
    ),
    min_score: float | None = typer.Option(None, help="drop a description sentence scoring below"),
    drop_bottom_pct: float | None = typer.Option(
        None, help="drop the description sentences in the bottom P % of all sentence scores"
    ),
    min_sample_score: float | None = typer.Option(
        None, help="DFN-style: drop a sample's record when its alt-text and every sentence score below"
    ),
    workers: int = typer.Option(1, help="processes over sidecars"),
    overwrite: bool = typer.Option(False, help="redo sidecars filtered under other rules"),
    progress: bool = PROGRESS,
) -> None:
    """Drop the sentences (and samples) the scorer doubts; writes sidecars, vocab.json and a drop
    log (drops/*.parquet)."""
    from hqclip.curate.filter import Rules, run_filter

    rules = Rules(min_margin, min_score, drop_bottom_pct, min_sample_score)
    stats = run_filter(sidecars, scores, output, rules, workers, overwrite, progress)
    typer.echo(json.dumps(stats))


@app.command()
def report(
    sidecars: Path = typer.Option(..., "--sidecars", help="the refined sidecars"),
    scores: Path | None = typer.Option(None, "--scores", help="their scores: adds histograms"),
    input: str | None = typer.Option(
        None, "--input", help="the shards: images and alt-texts on the sample page"
    ),
    output: Path = typer.Option(Path("runs/report"), "--output", help="report folder"),
    samples: int = typer.Option(24, help="random samples on the page"),
    seed: int = typer.Option(0, help="which random samples"),
    top: int = typer.Option(20, help="most frequent tags listed"),
    workers: int = typer.Option(1, help="processes over sidecars"),
    world_kinds: bool = typer.Option(
        False,
        help="also count the synthetic world's edit kinds of the description negatives (world data only)",
    ),
    progress: bool = PROGRESS,
) -> None:
    """Quality report of a refined dataset: JSON, Markdown, PNG plots and a page of samples."""
    from hqclip.curate.quality_report import markdown, summarise, write_report
    from hqclip.data.inputs import resolve_inputs

    if input is not None:
        resolve_inputs(input)
    res = summarise(
        sidecars, scores, samples, seed, top, workers, progress, work_dir=output, world_kinds=world_kinds
    )
    paths = write_report(res, output, input)
    typer.echo(markdown(res))
    typer.echo("report: " + ", ".join(str(p) for p in paths.values()))
