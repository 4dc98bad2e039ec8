"""`hqclip distill`: fine-tune a small LVLM on a teacher's records into a model folder that
`hqclip refine --backend transformers --model DIR` runs; `hqclip compare`: how far two annotation
sets of the same samples agree (teacher vs student)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer

from hqclip.cli.app import PROGRESS, app
from hqclip.cli.options import config_options, with_options
from hqclip.distill.config import DistillConfig
from hqclip.refine.config import RefineConfig

PROMPT_FIELDS = ("no_image", "prompt_file", "examples_file", "few_shot")  # as refine takes them


@app.command()
@with_options(
    config_options(DistillConfig),
    config_options(
        RefineConfig,
        skip=tuple(f.name for f in dataclasses.fields(RefineConfig) if f.name not in PROMPT_FIELDS),
        flags={"no_image": "--no-image", "prompt_file": "--prompt", "examples_file": "--examples"},
        types={"prompt_file": Path | None, "examples_file": Path | None},
    ),
    after="output",
)
def distill(
    input: str = typer.Option(
        ...,
        "--input",
        help="the shards the teacher refined: world folder, folder of tars or caption "
        "tables, one tar/table, or a brace pattern",
    ),
    sidecars: Path = typer.Option(..., "--sidecars", help="the teacher's sidecars (hqclip refine --output)"),
    base: str = typer.Option(
        ...,
        "--base",
        help="the student: an image-text-to-text model, hub name or folder (e.g. Qwen/Qwen2-VL-2B-Instruct)",
    ),
    output: Path = typer.Option(..., "--output", help="model folder (checkpoints under DIR/checkpoints)"),
    overwrite: bool = typer.Option(False, help="start over in an --output made with other settings"),
    progress: bool = PROGRESS,
    **fields: Any,
) -> None:
    """Fine-tune a vision-language model on a teacher's records (TRL SFT, full or --lora) into a
    model folder for `hqclip refine --backend transformers --model DIR` or `vllm serve DIR`.
    Resumable: rerun the same command. Several GPUs: `torchrun --nproc_per_node N -m
    hqclip.cli.main distill ...` (or `accelerate launch -m hqclip.cli.main distill ...`)."""
    from hqclip.distill.sft import run_distill

    prompt = {k: str(v) if isinstance(v, Path) else v for k, v in fields.items() if k in PROMPT_FIELDS}
    cfg = DistillConfig(**{k: v for k, v in fields.items() if k not in PROMPT_FIELDS})
    stats = run_distill(cfg, RefineConfig(**prompt), input, sidecars, base, output, overwrite, progress)
    typer.echo(
        json.dumps(
            {
                **{k: stats[k] for k in ("teacher_records", "train_records", "validation_records", "steps")},
                "eval_loss": stats["eval_loss"],
                "model": str(output),
                "refine_with": "hqclip refine --backend transformers --model DIR and these prompt options",
                "prompt": prompt,
            }
        )
    )


@app.command()
def compare(
    reference: Path = typer.Option(..., "--reference", help="sidecars of the reference (the teacher)"),
    candidate: Path = typer.Option(..., "--candidate", help="sidecars of the same samples by the candidate"),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="[LABEL=]NAME[:CHECKPOINT]: a CLIP whose text-embedding cosine of the "
        "two descriptions is reported too (as `hqclip score` takes it)",
    ),
    device: str = typer.Option("cpu", help="the CLIP's device: cpu, cuda, cuda:1, ..."),
    output: Path = typer.Option(Path("runs/compare"), "--output", help="report folder"),
    progress: bool = PROGRESS,
) -> None:
    """Agreement of two annotation sets of the same samples: valid %, invalid reasons, tag and
    negative-tag F1, description ROUGE-L and BLEU (and CLIP cosine), the negatives' edit kinds.
    JSON, Markdown and PNG."""
    from hqclip.distill.compare import compare as run_compare
    from hqclip.distill.compare_report import markdown, write_compare

    res = run_compare(reference, candidate, model, device, progress)
    paths = write_compare(res, output)
    typer.echo(markdown(res))
    typer.echo("report: " + ", ".join(str(p) for p in paths.values()))
