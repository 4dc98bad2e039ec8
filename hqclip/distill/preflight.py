"""What `hqclip distill` refuses before any work (one line, exit 2): a missing extra; sidecars
that are not refine's or were made from other shards; fewer valid teacher records than
--min-records; a base model that is not an image-text-to-text model; an --output made by a run
with other settings. A large base model with no GPU in sight gets a warning with an estimate."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from hqclip.curate import preflight as curate_preflight
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.errors import UserError
from hqclip.refine.preflight import image_text_to_text, model_config, model_kind

log = logging.getLogger("hqclip.distill")

CONFIG = "distill-config.json"
CPU_WARN_PARAMS = 300e6  # above this, full fine-tuning on CPU takes hours per thousand records
CPU_FLOPS = 1e11  # a generous CPU: 100 GFLOP/s
TOKENS_PER_RECORD = 1000  # prompt, image and answer of a typical record


def extras(lora: bool) -> None:
    modules = ("torch", "transformers", "trl", "datasets", "accelerate", *(("peft",) if lora else ()))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"distill needs {', '.join(missing)}: pip install 'hqclip[distill]'")


def teacher_records(units: list[Path], sidecars: Path) -> int:
    """The number of valid teacher records for these shards; refused when the sidecars are not
    refine's, name no shard of --input, or hold uids none of the shard's samples has."""
    files = curate_preflight.sidecars(sidecars)
    stems = {sidecar_path(u, sidecars).name for u in units}
    foreign = [f for f in files if f.name not in stems]
    if foreign:
        raise UserError(
            f"--sidecars {foreign[0]}: no shard of --input has this name ({len(foreign)} such); "
            f"pass the --output of the `hqclip refine` run made from these shards"
        )
    annotated = [u for u in units if sidecar_path(u, sidecars).exists()]
    curate_preflight.overlap(annotated[0], sidecar_path(annotated[0], sidecars))
    return sum(len(read_annotations(sidecar_path(u, sidecars), SkipLog())) for u in annotated)


def enough(records: int, minimum: int, sidecars: Path) -> None:
    if records < minimum:
        raise UserError(
            f"--sidecars {sidecars}: {records} valid teacher records, fewer than --min-records "
            f"{minimum}; refine more samples with the teacher (hqclip refine --sample N)"
        )


def base_model(base: str) -> Any:
    """The base model's config; refused unless it is an image-text-to-text model."""
    config = model_config(base, "--base")
    if not image_text_to_text(config):
        raise UserError(
            f"--base {base} is {model_kind(config)}; distill fine-tunes image-text-to-text models "
            f"(Qwen2-VL family first), e.g. Qwen/Qwen2-VL-2B-Instruct"
        )
    return config


def warn_if_slow(config: Any, base: str, lora: bool) -> int:
    """The base's parameter count (built on the meta device: no weights); a warning with the
    memory and time it would take when no GPU is visible and the model is large."""
    import torch
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        n = sum(p.numel() for p in AutoModelForImageTextToText.from_config(config).parameters())
    if n > CPU_WARN_PARAMS and not torch.cuda.is_available():
        memory = n * (4 if lora else 16) / 1e9  # fp32 weights (+ gradients and Adam's two states)
        hours = 6 * n * TOKENS_PER_RECORD * 1000 / CPU_FLOPS / 3600
        log.warning(
            "--base %s has %.2f B parameters and no GPU is visible: %s fine-tuning on CPU needs "
            "about %.0f GB of memory and about %.0f hours per 1,000 records of ~%d tokens at %.0f "
            "GFLOP/s; use a GPU",
            base,
            n / 1e9,
            "LoRA" if lora else "full",
            memory,
            hours,
            TOKENS_PER_RECORD,
            CPU_FLOPS / 1e9,
        )
    return n


def same_run(out: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """An --output that holds another run's checkpoints is refused (resuming would mix them)
    unless --overwrite; a rerun of the same command resumes."""
    path = out / CONFIG
    if not path.exists() or overwrite:
        return
    old = json.loads(path.read_text())
    changed = sorted(k for k in {*old, *settings} if old.get(k) != settings.get(k))
    if changed:
        raise UserError(
            f"--output {out} holds a distill run with other settings ({', '.join(changed)}); "
            f"choose another --output, or --overwrite to start over"
        )
