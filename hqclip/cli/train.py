"""`hqclip train`: HQ-CLIP training on open_clip (single process, or under torchrun)."""

from pathlib import Path

import typer

from hqclip.cli.app import app


@app.command()
def train(
    train_data: str = typer.Option(..., "--train-data", help="world folder, shard folder, .tar or brace pattern"),
    output: Path = typer.Option(..., "--output", help="run folder (checkpoints/, metrics.jsonl, tensorboard/)"),
    sidecars: str = typer.Option(None, "--sidecars", help="annotation sidecar folder (default: <world>/sidecars)"),
    model: str = typer.Option("hqclip-tiny", help="any open_clip model name; tiny CPU ones: hqclip-tiny, hqclip-micro"),
    pretrained: str = typer.Option(None, help="open_clip tag or checkpoint path (default: random init)"),
    batch_size: int = typer.Option(64, help="per process"),
    epochs: int = typer.Option(1),
    steps: int = typer.Option(None, help="total steps (overrides --epochs)"),
    train_num_samples: int = typer.Option(None, help="samples per epoch (default: counted from the shards)"),
    resampled: bool = typer.Option(False, help="draw shards with replacement"),
    workers: int = typer.Option(2, help="data loader processes per rank"),
    cache: bool = typer.Option(False, help="with --workers 0: keep decoded samples and token ids in "
                               "RAM across epochs (a dataset that fits in memory)"),
    shuffle_buffer: int = typer.Option(1000),
    lr: float = typer.Option(5e-4),
    wd: float = typer.Option(0.1),
    warmup: int = typer.Option(100, help="warm-up steps of the cosine schedule"),
    grad_clip_norm: float = typer.Option(None),
    precision: str = typer.Option("auto", help="auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16"),
    grad_checkpointing: bool = typer.Option(False),
    local_loss: bool = typer.Option(True, help="open_clip --local-loss"),
    gather_with_grad: bool = typer.Option(True, help="open_clip --gather-with-grad"),
    hni_weight: float = typer.Option(1.0, help="hard-negative (negative description) loss weight"),
    stc_weight: float = typer.Option(1.0, help="short-tag classification loss weight"),
    stc_head: str = typer.Option("linear", help="linear (fixed tag vocabulary) | text (tags through the text tower)"),
    vocab_size: int = typer.Option(1000, help="linear head: most frequent tags kept"),
    text_mix: str = typer.Option("alt=0.3,desc=0.7", help="positive text source probabilities"),
    neg_swap: str = typer.Option("1", help="sentences swapped for their negatives: k or 'all'"),
    alt_neg: bool = typer.Option(False, help="HNI negative of an alt-text positive: the alt-text with "
                                 "a tag it names swapped for its negative tag (else the description's)"),
    max_tags: int = typer.Option(2, help="tag pairs sampled per image"),
    seed: int = typer.Option(0),
    save_every: int = typer.Option(500, help="steps between checkpoints"),
    log_every: int = typer.Option(10),
    resume: str = typer.Option(None, help="'latest' or a checkpoint path"),
    stop_after: int = typer.Option(None, help="exit with a checkpoint after this step"),
) -> None:
    """Train CLIP with hard negatives and tags. Under torchrun, every rank runs this command."""
    params = dict(locals())
    import json
    import os

    from hqclip.train import TrainConfig, run
    from hqclip.train.texts import parse_text_mix

    result = run(TrainConfig(**{**params, "output": str(output), "text_mix": parse_text_mix(text_mix)}))
    if os.environ.get("RANK", "0") == "0":
        typer.echo(json.dumps(result, indent=2))
