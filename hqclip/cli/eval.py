"""`hqclip eval`: several models side by side on the world's eval splits (or any folder in their
formats) and optionally CLIP_benchmark datasets; prints the table and writes the report."""

from __future__ import annotations

from pathlib import Path

import typer

from hqclip.cli.app import app, renamed


@app.command("eval", context_settings=renamed({"data": "input", "out": "output"}))
def eval_cmd(
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help=(
            "[LABEL=]NAME[:CHECKPOINT]: an open_clip model name, optionally a checkpoint file (or an "
            "open_clip pretrained tag) after ':', optionally a display label before '='. Repeat for "
            "side-by-side rows, e.g. -m base=hqclip-tiny:runs/a/checkpoints/epoch_latest.pt"
        ),
    ),
    data: Path | None = typer.Option(
        None,
        "--input",
        "-d",
        help=(
            "a world folder (hqclip world) or a folder holding zeroshot/ retrieval/ sugarcrepe/ winoground/"
        ),
    ),
    out: Path = typer.Option(Path("runs/eval"), "--output", "-o", help="report folder"),
    clip_benchmark: str | None = typer.Option(
        None,
        "--clip-benchmark",
        help=(
            "comma-separated CLIP_benchmark datasets (cifar10,mscoco_captions,sugar_crepe/swap_att,...; "
            "downloaded by CLIP_benchmark) or wds/NAME (a local WebDataset); needs the bench extra"
        ),
    ),
    clip_benchmark_root: str = typer.Option(
        "clip_benchmark_data/{dataset_cleaned}",
        help="where CLIP_benchmark keeps its datasets; {dataset} is replaced",
    ),
    batch_size: int = typer.Option(64, help="images or texts per forward pass"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, ..."),
    workers: int = typer.Option(0, help="image decoding worker processes"),
    cache_dir: Path | None = typer.Option(None, help="embedding cache [default: ~/.cache/hqclip/eval]"),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the embedding cache"),
    seed: int = typer.Option(0, help="seed of the random init of models given without a checkpoint"),
) -> None:
    """Zero-shot classification, retrieval, SugarCrepe, ARO order and Winoground-style scores."""
    from hqclip.errors import UserError
    from hqclip.eval import evaluate, markdown
    from hqclip.eval.embed import default_cache_dir

    cb = [d.strip() for d in clip_benchmark.split(",") if d.strip()] if clip_benchmark else []
    if data is None and not cb:
        raise UserError("give --input and/or --clip-benchmark")
    results = evaluate(
        model,
        data,
        out,
        batch_size=batch_size,
        device=device,
        workers=workers,
        seed=seed,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        clip_benchmark=cb,
        clip_benchmark_root=clip_benchmark_root,
    )
    typer.echo(markdown(results))
    typer.echo(f"report: {out}/results.json, {out}/results.md, {out}/summary.png")
