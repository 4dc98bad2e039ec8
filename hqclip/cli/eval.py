"""`hqclip eval`: several models side by side on the world's eval splits (or any folder in their
formats) and optionally CLIP_benchmark datasets, or on DataComp's 38-task suite (`--suite
datacomp`); prints the table and writes the report. `hqclip download-datacomp` fetches the suite's
data."""

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
    suite: str | None = typer.Option(
        None,
        "--suite",
        help=(
            "datacomp: DataComp's 40 evaluation tasks read from --data-dir, their 38-task average and "
            "aggregates (the DataComp score of HQ-CLIP's model zoo); resumable"
        ),
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="with --suite datacomp: the folder `hqclip download-datacomp` fills"
    ),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        help=(
            "with --suite: comma-separated task keys (imagenet1k,vtab/cifar100,...); "
            "the average is then partial"
        ),
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="with --suite: redo tasks done before under other weights with the same label",
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
    workers: int | None = typer.Option(
        None, help="image decoding worker processes (default 0; 4 with --suite, as DataComp)"
    ),
    cache_dir: Path | None = typer.Option(None, help="embedding cache [default: ~/.cache/hqclip/eval]"),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the embedding cache"),
    seed: int = typer.Option(0, help="seed of the random init of models given without a checkpoint"),
) -> None:
    """Zero-shot classification, retrieval, SugarCrepe, ARO order and Winoground-style scores, or
    DataComp's 38-task suite."""
    from hqclip.errors import UserError

    if suite is not None:
        _suite(suite, data_dir, model, out, tasks, batch_size, workers, device, seed, overwrite)
        return
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
        workers=workers or 0,
        seed=seed,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        clip_benchmark=cb,
        clip_benchmark_root=clip_benchmark_root,
    )
    typer.echo(markdown(results))
    typer.echo(f"report: {out}/results.json, {out}/results.md, {out}/summary.png")


def _keys(tasks: str | None) -> list[str] | None:
    return [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None


def _suite(suite, data_dir, model, out, tasks, batch_size, workers, device, seed, overwrite) -> None:
    from hqclip.errors import UserError
    from hqclip.eval.datacomp.report import markdown
    from hqclip.eval.datacomp.suite import run_suite

    if suite != "datacomp":
        raise UserError(f"unknown --suite {suite!r}; the one suite is datacomp")
    if data_dir is None:
        raise UserError(
            "--suite datacomp needs --data-dir (fetch the data: hqclip download-datacomp --data-dir DIR)"
        )
    results = run_suite(
        model,
        data_dir,
        out,
        tasks=_keys(tasks),
        batch_size=batch_size,
        workers=4 if workers is None else workers,
        device=device,
        seed=seed,
        overwrite=overwrite,
    )
    typer.echo(markdown(results))
    typer.echo(
        f"report: {out}/results.json, {out}/results.md, {out}/summary.png; "
        f"per model {out}/LABEL/eval_results.jsonl"
    )


@app.command("download-datacomp")
def download_datacomp(
    data_dir: Path = typer.Option(
        ...,
        "--data-dir",
        help="where the task folders go (then: hqclip eval --suite datacomp --data-dir DIR)",
    ),
    tasks: str | None = typer.Option(None, "--tasks", help="comma-separated task keys (default: all 40)"),
    endpoint: str | None = typer.Option(
        None, help="Hugging Face hub URL (default: HF_ENDPOINT, else huggingface.co)"
    ),
    workers: int = typer.Option(8, help="parallel file downloads"),
) -> None:
    """Fetch DataComp's evaluation sets from the Hugging Face hub into --data-dir: each task folder
    that is missing or incomplete (resumable: files already there are kept)."""
    from hqclip.eval.datacomp.fetch import fetch

    fetched = fetch(data_dir, _keys(tasks), endpoint, workers)
    typer.echo(
        f"{len(fetched)} task folder(s) fetched into {data_dir}"
        + (f": {', '.join(fetched)}" if fetched else "")
    )
