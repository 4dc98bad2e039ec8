"""`hqclip refine`: an LVLM rewrites each sample's alt-text into the four-list record (sidecars)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hqclip.cli.app import (PROGRESS, RAY_ADDRESS, RAY_CPUS, RAY_GPUS, RAY_RETRIES, RUNNER, app,
                            ray_opts)


@app.command()
def refine(
    input: str = typer.Option(..., "--input", help="world folder, folder of tars or caption tables, "
                              "one tar/table, or a brace pattern shard-{000000..000009}.tar"),
    output: Path = typer.Option(..., "--output", help="sidecar folder (one parquet per shard)"),
    backend: str = typer.Option("auto", help="auto (the oracle on a world, else asks you to "
                                "choose) | oracle | transformers | openai | vllm"),
    model: Optional[str] = typer.Option(None, help="HF name/path (transformers, vllm) or served "
                                        "model name (openai)"),
    no_image: bool = typer.Option(False, "--no-image", help="text-only: rewrite the alt-text "
                                  "with a text LLM (LaCLIP style)"),
    prompt: Optional[Path] = typer.Option(None, help="prompt template file ({alt_text}, "
                                          "{examples} slots) instead of the packaged one"),
    examples: Optional[Path] = typer.Option(None, help="few-shot examples JSON "
                                            "[{alt_text, record}]"),
    few_shot: int = typer.Option(2, help="how many few-shot examples go into the prompt"),
    max_items: Optional[int] = typer.Option(None, help="tighter maxItems for constrained decoding"),
    max_chars: Optional[int] = typer.Option(None, help="tighter string maxLength for constrained "
                                            "decoding"),
    pairs: Optional[int] = typer.Option(None, help="every list exactly this long in constrained "
                                        "decoding, so a weak model's pairs stay aligned"),
    salvage: bool = typer.Option(True, help="keep the valid aligned pairs of a partly invalid "
                                 "answer (the dropped ones are named in the `dropped` column)"),
    temperature: float = typer.Option(0.2),
    top_p: float = typer.Option(1.0),
    max_tokens: int = typer.Option(1024, help="generation limit; hitting it is a failed attempt"),
    seed: int = typer.Option(0),
    max_retries: int = typer.Option(2, help="retries of a sample whose answer is invalid"),
    batch_size: int = typer.Option(16, help="samples per backend call"),
    max_pixels: int = typer.Option(89_478_485, help="larger images are skipped as invalid rows"),
    device: str = typer.Option("auto", help="transformers: cpu | cuda | cuda:N | auto"),
    dtype: str = typer.Option("auto", help="transformers: auto | float32 | bfloat16 | float16"),
    endpoint: list[str] = typer.Option([], help="openai: base URL, e.g. http://host:8000/v1 "
                                       "(repeat to balance several servers)"),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="openai: env var holding the API key"),
    concurrency: int = typer.Option(32, help="openai: requests in flight"),
    request_timeout: float = typer.Option(120.0, help="openai: seconds per request"),
    request_retries: int = typer.Option(5, help="openai: retries on 429/5xx/timeouts, "
                                        "exponential backoff"),
    omission: float = typer.Option(0.0, help="oracle: chance an object is left out"),
    hallucination: float = typer.Option(0.0, help="oracle: chance of a wrong attribute/object"),
    malformed: float = typer.Option(0.0, help="oracle: chance an answer is unusable"),
    delay: float = typer.Option(0.0, help="oracle: simulated seconds per answer"),
    runner: str = RUNNER,
    workers: int = typer.Option(1, help="local: processes over shards (CPU-bound backends: "
                                "oracle, remote endpoints); keep 1 for a local GPU model"),
    ray_address: Optional[str] = RAY_ADDRESS,
    ray_cpus: float = RAY_CPUS,
    ray_gpus: float = RAY_GPUS,
    ray_retries: int = RAY_RETRIES,
    overwrite: bool = typer.Option(False, help="redo shards made under a different configuration"),
    progress: bool = PROGRESS,
) -> None:
    """Refine image-text shards into sidecar parquet files (resumable; rerun to continue)."""
    import json

    from hqclip.refine.config import RefineConfig
    from hqclip.refine.runners import run_refine

    options = {
        "oracle": {"omission": omission, "hallucination": hallucination, "malformed": malformed,
                   "delay": delay},
        "transformers": {"device": device, "dtype": dtype},
        "vllm": {"dtype": dtype},
        "openai": {"endpoints": endpoint, "api_key_env": api_key_env, "concurrency": concurrency,
                   "timeout": request_timeout, "retries": request_retries},
    }.get("oracle" if backend == "auto" else backend, {})  # auto can only become the oracle
    cfg = RefineConfig(
        backend=backend, model=model, options=options, temperature=temperature, top_p=top_p,
        max_tokens=max_tokens, seed=seed, no_image=no_image,
        prompt_file=str(prompt) if prompt else None,
        examples_file=str(examples) if examples else None, few_shot=few_shot,
        max_items=max_items, max_chars=max_chars, pairs=pairs, salvage=salvage,
        max_retries=max_retries,
        batch_size=max(batch_size, concurrency if backend == "openai" else 1),
        max_pixels=max_pixels)
    stats = run_refine(cfg, input, output, runner=runner, overwrite=overwrite,
                       ray_opts=ray_opts(ray_address, ray_cpus, ray_gpus, ray_retries),
                       progress=progress, workers=workers)
    tot, run = stats["total"], stats["this_run"]
    typer.echo(json.dumps({"samples": tot["samples"], "ok": tot["ok"], "invalid": tot["invalid"],
                           "valid_pct": tot["valid_pct"], "reasons": tot["reasons"],
                           "salvaged": tot["salvaged"], "dropped": tot["dropped"],
                           "this_run_samples_per_s": run["samples_per_s"],
                           "stats": str(output / "refine-stats.json")}))
