"""What `hqclip train` checks before any work, so that a user mistake ends in one line saying what
to do (`UserError`, printed by the CLI) instead of a traceback minutes later.

Inputs are what refine reads (`hqclip.data.inputs`): tar shards, caption tables, folders of images
with `.txt` captions; each is a shard. Annotations: training joins each shard to
`<sidecars>/<shard>.parquet` (`<table>.csv.parquet` for a table, `<folder>.parquet` for a folder:
the names refine writes). With no sidecar for any shard (or no sidecar folder) a run that needs
annotations — HNI, STC, or descriptions in `--text-mix` — is refused: nothing would train what was
asked. Some shards without a sidecar is
normal (a partial refine): one warning names how many, and their samples use the alt-text. Only
file names are checked here (one stat per shard), never the records.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqclip.data.inputs import resolve_inputs
from hqclip.data.sidecar import sidecar_path
from hqclip.data.vocab import read_vocab
from hqclip.errors import UserError
from hqclip.train.config import TrainConfig
from hqclip.train.texts import parse_neg_swap, parse_text_mix

log = logging.getLogger("hqclip.train")

STC_HEADS = ("linear", "text")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class Inputs:
    shards: list[Path]
    sidecars: str | None
    without_sidecar: list[Path]


def _positive(cfg: TrainConfig) -> None:
    for name in (
        "batch_size",
        "epochs",
        "steps",
        "train_num_samples",
        "shuffle_buffer",
        "vocab_size",
        "save_every",
        "log_every",
        "stop_after",
        "eval_every",
    ):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if cfg.workers < 0:
        raise UserError(f"--workers {cfg.workers}: must be 0 (load in the training process) or more")
    if cfg.stc_head not in STC_HEADS:
        raise UserError(f"--stc-head {cfg.stc_head!r}: choose one of {', '.join(STC_HEADS)}")
    if cfg.precision not in PRECISIONS:
        raise UserError(f"--precision {cfg.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if cfg.resampled and not cfg.train_num_samples:
        raise UserError("--resampled needs --train-num-samples (the length of an epoch)")


def needs_annotations(cfg: TrainConfig) -> bool:
    return cfg.hni_weight > 0 or cfg.stc_weight > 0 or parse_text_mix(cfg.text_mix)["desc"] > 0


def normalized(cfg: TrainConfig) -> TrainConfig:
    """`--pretrained hf-hub:ORG/NAME` names the architecture as well as the weights (open_clip's
    `create_model("hf-hub:...")`): it becomes the model."""
    from hqclip.clip.configs import HF_HUB

    if cfg.pretrained and cfg.pretrained.startswith(HF_HUB):
        return dataclasses.replace(cfg, model=cfg.pretrained, pretrained=None)
    return cfg


def check(cfg: TrainConfig, world_size: int) -> Inputs:
    """Options, model name, pretrained weights, locking, shards and sidecars; raises UserError."""
    from hqclip.clip.configs import check_pretrained, model_config
    from hqclip.train import eval_hook, lock

    _positive(cfg)
    parse_text_mix(cfg.text_mix)
    parse_neg_swap(cfg.neg_swap)
    lock.check(cfg, model_config(cfg.model))
    check_pretrained(cfg.model, cfg.pretrained)
    eval_hook.check(cfg)
    shards = resolve_inputs(cfg.train_data)
    if world_size > 1 and not cfg.gather_with_grad:
        # the gathered features of other ranks carry no gradient: scaled by 1/world without
        # --local-loss, biased with it (notes/review-gpu.md finding 12)
        raise UserError(
            f"--no-gather-with-grad with {world_size} processes gives wrong gradients; "
            "drop it (--gather-with-grad is the default)"
        )
    if not cfg.resampled and len(shards) < world_size:
        raise UserError(
            f"{len(shards)} shards for {world_size} processes: every process needs a "
            "shard; use --resampled or more shards"
        )
    sidecars = cfg.sidecars
    root = Path(cfg.train_data)
    if sidecars is None and (root / "world.json").exists() and (root / "sidecars").is_dir():
        sidecars = str(root / "sidecars")
    if cfg.sidecars is not None and not Path(cfg.sidecars).is_dir():
        raise UserError(
            f"--sidecars {cfg.sidecars}: no such folder; pass the --output folder of "
            "`hqclip refine` or `hqclip import-vlm150m`"
        )
    without = [s for s in shards if sidecars is None or not sidecar_path(s, sidecars).exists()]
    if needs_annotations(cfg) and len(without) == len(shards):
        where = f"in {sidecars}" if sidecars else "(no --sidecars given)"
        raise UserError(
            f"no annotation sidecar for any of the {len(shards)} shards of --input {where}: "
            "make them with `hqclip refine` or `hqclip import-vlm150m` and pass --sidecars, or "
            "train plain CLIP with --hni-weight 0 --stc-weight 0 --text-mix alt=1"
        )
    if without and sidecars is not None:
        log.warning(
            "%d of %d shards have no sidecar in %s (%s%s); their samples train on alt-text",
            len(without),
            len(shards),
            sidecars,
            ", ".join(s.name for s in without[:3]),
            ", ..." if len(without) > 3 else "",
        )
    return Inputs(shards, sidecars, without)


def vocab(cfg: TrainConfig, sidecars: str | None, state: dict[str, Any] | None) -> list[str]:
    """The linear head's tags: the checkpoint's on resume, else `vocab.json`'s first --vocab-size."""
    if cfg.stc_weight <= 0 or cfg.stc_head != "linear":
        return []
    if state is not None:
        return state["vocab"]
    if sidecars is None:
        raise UserError("--stc-head linear needs the sidecars' vocab.json; pass --sidecars")
    tags = read_vocab(sidecars, cfg.vocab_size)
    if not tags:
        raise UserError(
            f"{sidecars}/vocab.json lists no tag (no annotated sample): use "
            "--stc-head text, or --stc-weight 0"
        )
    return tags


def resume_matches(
    data: dict[str, Any], readers: int, cfg: TrainConfig, world_size: int, per_epoch: int
) -> None:
    """A checkpoint resumes under the global batch and epoch length that wrote it (else its step
    count would stand for other samples, epochs and schedule); a mid-epoch position only under the
    same loader workers, batch size and processes as well."""
    if "batch_size" in data:  # absent in checkpoints of an older hqclip
        wrote = (data["batch_size"] * data["world_size"], data.get("per_epoch", per_epoch))
        if wrote != (cfg.batch_size * world_size, per_epoch):
            raise UserError(
                f"the checkpoint was written with a global batch of {wrote[0]} (--batch-size "
                f"{data['batch_size']} × {data['world_size']} processes) and {wrote[1]} steps per epoch; "
                f"now {cfg.batch_size * world_size} and {per_epoch}: resume with --batch-size "
                f"{wrote[0]} / processes and the same --train-num-samples"
            )
    if data.get("batches_done", 0) == 0:
        return
    if "streams" not in data:
        raise UserError(
            "the checkpoint holds no reader positions (written by an older hqclip); "
            "it can only resume at an epoch boundary"
        )
    wrote = (data["readers"], data["batch_size"], data["world_size"])
    if wrote != (readers, cfg.batch_size, world_size):
        raise UserError(
            f"the checkpoint was written with {wrote[0]} loader workers, --batch-size "
            f"{wrote[1]} and {wrote[2]} processes; resume with the same (now "
            f"{readers}, {cfg.batch_size}, {world_size})"
        )
