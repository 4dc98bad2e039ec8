"""`hqclip refine`: an LVLM rewrites each sample's alt-text into the four-list record (sidecars)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hqclip.cli.app import PROGRESS, RAY_ADDRESS, RAY_CPUS, RAY_GPUS, RAY_RETRIES, RUNNER, app, ray_opts
from hqclip.cli.options import config_options, config_values, given, with_options
from hqclip.refine.config import OpenAIOptions, RefineConfig

_OPENAI = OpenAIOptions()
# RefineConfig.options of each backend: key -> the option that sets it
BACKEND_OPTIONS = {
    "oracle": {k: k for k in ("omission", "hallucination", "malformed", "delay")},
    "transformers": {"device": "device", "dtype": "dtype"},
    "vllm": {"dtype": "dtype"},
    "openai": {
        "endpoints": "endpoint",
        "api_key_env": "api_key_env",
        "concurrency": "concurrency",
        "timeout": "request_timeout",
        "retries": "request_retries",
    },
}


@app.command()
@with_options(
    config_options(
        RefineConfig,
        skip=("options",),
        flags={"no_image": "--no-image", "prompt_file": "--prompt", "examples_file": "--examples"},
        types={"prompt_file": Path | None, "examples_file": Path | None},
    ),
    after="output",
)
def refine(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", help="replay a refine run from its refine-run.json; options given here override it"
    ),
    input: str = typer.Option(
        ...,
        "--input",
        help="world folder, folder of tars or caption tables, "
        "one tar/table, or a brace pattern shard-{000000..000009}.tar",
    ),
    output: Path = typer.Option(..., "--output", help="sidecar folder (one parquet per shard)"),
    device: str = typer.Option("auto", help="transformers: cpu | cuda | cuda:N | auto"),
    dtype: str = typer.Option("auto", help="transformers: auto | float32 | bfloat16 | float16"),
    endpoint: list[str] = typer.Option(
        [], help="openai: base URL, e.g. http://host:8000/v1 (repeat to balance several servers)"
    ),
    api_key_env: str = typer.Option(_OPENAI.api_key_env, help="openai: env var holding the API key"),
    concurrency: int = typer.Option(_OPENAI.concurrency, help="openai: requests in flight"),
    request_timeout: float = typer.Option(_OPENAI.timeout, help="openai: seconds per request"),
    request_retries: int = typer.Option(
        _OPENAI.retries, help="openai: retries on 429/5xx/timeouts, exponential backoff"
    ),
    omission: float = typer.Option(0.0, help="oracle: chance an object is left out"),
    hallucination: float = typer.Option(0.0, help="oracle: chance of a wrong attribute/object"),
    malformed: float = typer.Option(0.0, help="oracle: chance an answer is unusable"),
    delay: float = typer.Option(0.0, help="oracle: simulated seconds per answer"),
    runner: str = RUNNER,
    workers: int = typer.Option(
        1,
        help="local: processes over shards (CPU-bound backends: "
        "oracle, remote endpoints); keep 1 for a local GPU model",
    ),
    ray_address: str | None = RAY_ADDRESS,
    ray_cpus: float = RAY_CPUS,
    ray_gpus: float = RAY_GPUS,
    ray_retries: int = RAY_RETRIES,
    overwrite: bool = typer.Option(False, help="redo shards made under a different configuration"),
    progress: bool = PROGRESS,
    **fields: Any,
) -> None:
    """Refine image-text shards into sidecar parquet files (resumable; rerun to continue)."""
    import json

    from hqclip.refine.runners import run_refine
    from hqclip.units.stage import stats_name

    values = config_values(ctx, RefineConfig, fields, config)
    backend = "oracle" if values["backend"] == "auto" else values["backend"]  # auto: the oracle
    options = {
        key: ctx.params[name]
        for key, name in BACKEND_OPTIONS.get(backend, {}).items()
        if config is None or given(ctx, name)
    }
    cfg = RefineConfig(**{**values, "options": {**values.get("options", {}), **options}})
    stats = run_refine(
        cfg,
        input,
        output,
        runner=runner,
        overwrite=overwrite,
        ray_opts=ray_opts(ray_address, ray_cpus, ray_gpus, ray_retries),
        progress=progress,
        workers=workers,
    )
    tot, run = stats["total"], stats["this_run"]
    typer.echo(
        json.dumps(
            {
                "samples": tot["samples"],
                "ok": tot["ok"],
                "invalid": tot["invalid"],
                "valid_pct": tot["valid_pct"],
                "reasons": tot["reasons"],
                "salvaged": tot["salvaged"],
                "dropped": tot["dropped"],
                "this_run_samples_per_s": run["samples_per_s"],
                "stats": str(output / stats_name("refine")),
            }
        )
    )
