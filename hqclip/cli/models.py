"""Commands that make new models out of trained ones: `hqclip wise-ft` (weight-space interpolation
of a zero-shot and a fine-tuned CLIP) and `hqclip export` (a transformers CLIPModel folder)."""

from __future__ import annotations

from pathlib import Path

import typer

from hqclip.cli.app import app

MODEL = typer.Option(
    ...,
    "--model",
    help="open_clip model name, e.g. ViT-B-16 or hqclip-tiny (the architecture of the weights)",
)
WEIGHTS = (
    "a checkpoint file (hqclip train writes runs/NAME/checkpoints/latest.pt), an open_clip "
    "pretrained tag of --model (e.g. openai), or hf-hub:ORG/REPO"
)


@app.command("wise-ft")
def wise_ft_cmd(
    zero_shot: str = typer.Option(..., "--zero-shot", help=f"the model before fine-tuning: {WEIGHTS}"),
    fine_tuned: str = typer.Option(..., "--fine-tuned", help="the fine-tuned model, in the same forms"),
    alpha: str = typer.Option(
        "0,0.25,0.5,0.75,1", help="comma-separated mixing weights: 0 = zero-shot, 1 = fine-tuned"
    ),
    model: str = MODEL,
    output: Path = typer.Option(..., "--output", "-o", help="folder for alpha_<α>.pt (and the report)"),
    eval_data: Path | None = typer.Option(
        None,
        help="a world folder or eval folder (as hqclip eval --input): evaluate every α and plot the frontier",
    ),
    batch_size: int = typer.Option(64, help="eval: images or texts per forward pass"),
    device: str = typer.Option("cpu", help="eval: cpu, cuda, cuda:1, ..."),
    workers: int = typer.Option(0, help="eval: image decoding worker processes"),
) -> None:
    """WiSE-FT (Wortsman et al. 2022): θ_α = (1−α)·θ_zero-shot + α·θ_fine-tuned, one open_clip
    checkpoint per α, to win back zero-shot accuracy that fine-tuning lost; --eval-data plots the frontier."""
    from hqclip.clip import wise_ft
    from hqclip.errors import UserError
    from hqclip.eval.splits import eval_dir

    alphas = wise_ft.parse_alphas(alpha)
    if eval_data is not None and not eval_dir(eval_data).is_dir():
        raise UserError(
            f"--eval-data {eval_data}: no such eval folder; run `hqclip world` or pass an eval folder"
        )
    zs = wise_ft.state_dict(model, zero_shot, "--zero-shot")
    ft = wise_ft.state_dict(model, fine_tuned, "--fine-tuned")
    wise_ft.check_same_architecture(model, zs, ft, (zero_shot, fine_tuned))
    meta = {"model": model, "zero_shot": zero_shot, "fine_tuned": fine_tuned}
    paths = wise_ft.write(output, model, zs, ft, alphas, meta)
    typer.echo(f"wrote {len(paths)} checkpoints: {', '.join(str(p) for p in paths.values())}")
    if eval_data is not None:
        from hqclip.eval import markdown
        from hqclip.eval.frontier import evaluate_alphas

        results = evaluate_alphas(
            model, paths, eval_data, output, meta, batch_size=batch_size, device=device, workers=workers
        )
        typer.echo(markdown(results))
        typer.echo(f"report: {output}/results.json, {output}/results.md, {output}/frontier.png")


@app.command("export")
def export_cmd(
    format: str = typer.Option("hf", "--format", help="hf: a transformers CLIPModel + CLIPProcessor folder"),
    model: str = MODEL,
    checkpoint: str = typer.Option(..., "--checkpoint", help=WEIGHTS.replace(", or hf-hub:ORG/REPO", "")),
    output: Path = typer.Option(..., "--output", "-o", help="the folder to write"),
    push_to_hub: str | None = typer.Option(
        None,
        "--push-to-hub",
        metavar="REPO",
        help="also upload the folder to this Hugging Face Hub repo (needs the network and `hf auth login`)",
    ),
) -> None:
    """Write a transformers CLIPModel + CLIPProcessor folder (CLIPModel.from_pretrained(DIR)) for an
    open_clip ViT with the standard text tower; other architectures are refused, naming what differs."""
    from hqclip.clip.export_hf import check_exportable, export
    from hqclip.clip.load import ModelSpec, load, register_configs
    from hqclip.errors import UserError

    if format != "hf":
        raise UserError(f"--format {format}: the one format is hf (transformers' CLIPModel)")
    spec = ModelSpec(f"{model}:{checkpoint}", model, checkpoint)
    register_configs(spec)
    check_exportable(model)
    if push_to_hub:
        from hqclip.clip.hub import check_ready

        check_ready(push_to_hub)
    loaded = load(spec)
    export(model, loaded.model, loaded.tokenizer, output)
    typer.echo(f"wrote {output}: CLIPModel.from_pretrained and CLIPProcessor.from_pretrained read it")
    if push_to_hub:
        from hqclip.clip.hub import push

        typer.echo(f"pushed to {push(output, push_to_hub)}")
