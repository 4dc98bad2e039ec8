"""`hqclip train`: HQ-CLIP training on open_clip (single process, or under torchrun)."""

from pathlib import Path
from typing import Any

import typer

from hqclip.cli.app import app, renamed
from hqclip.cli.options import config_options, config_values, with_options
from hqclip.train.config import TrainConfig


@app.command(context_settings=renamed({"train-data": "input"}))
@with_options(
    config_options(
        TrainConfig,
        flags={"train_data": "--input"},
        types={"output": Path, "text_mix": str},
        defaults={"text_mix": "alt=0.3,desc=0.7"},
    ),
    after="config",
)
def train(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", help="replay a run from the config.json it wrote; options given here override it"
    ),
    **fields: Any,
) -> None:
    """Train CLIP with hard negatives and tags. Under torchrun, every rank runs this command."""
    import json
    import os

    from hqclip.train import run
    from hqclip.train.texts import parse_text_mix

    values = config_values(ctx, TrainConfig, fields, config)
    mix = values["text_mix"]  # a replayed config's is parsed already
    result = run(TrainConfig(**{**values, "text_mix": parse_text_mix(mix) if isinstance(mix, str) else mix}))
    if os.environ.get("RANK", "0") == "0":
        typer.echo(json.dumps(result, indent=2))
