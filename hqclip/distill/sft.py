"""`run_distill`: supervised fine-tuning of a vision-language model on a teacher's records with
TRL's SFTTrainer, in prompt–completion form, so only the answer and its end-of-turn token carry
labels (the prompt and image tokens are -100); `max_length=None`, so no image token is ever cut
(length is bounded by the image size bounds and the record's schema). Full fine-tuning, or LoRA
adapters merged at the end. The output folder is a plain model with its processor (image size
bounds included) for `hqclip refine --backend transformers --model DIR` or `vllm serve DIR`.

Multi-GPU: one process per GPU, e.g. `torchrun --nproc_per_node 8 -m hqclip.cli.main distill ...`
or `accelerate launch -m hqclip.cli.main distill ...`; the Trainer runs DDP, the main process
builds the dataset first and writes the model. Checkpoints go to DIR/checkpoints; rerunning the
same command resumes from the last one."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.data.inputs import resolve_inputs
from hqclip.distill import preflight, sft_data
from hqclip.distill.config import DistillConfig
from hqclip.errors import UserError
from hqclip.progress import bar
from hqclip.refine.config import RefineConfig

log = logging.getLogger("hqclip.distill")

STATS = "distill-stats.json"


def _bar_callback(enabled: bool):
    """Progress as every long hqclip command shows it (`hqclip.progress.bar`), on the main process,
    with the last logged loss; replaces the Trainer's own bar and its printed log dicts."""
    from transformers import TrainerCallback

    class Bar(TrainerCallback):
        shown = None

        def on_train_begin(self, args, state, control, **kw):
            if state.is_world_process_zero:
                self.shown = bar(
                    total=state.max_steps,
                    initial=state.global_step,
                    desc="distill",
                    unit="step",
                    disable=not enabled,
                )

        def on_step_end(self, args, state, control, **kw):
            if self.shown is not None:
                self.shown.update(state.global_step - self.shown.n)

        def on_log(self, args, state, control, logs=None, **kw):
            if self.shown is not None and logs:
                self.shown.set_postfix(
                    {k: round(v, 4) for k, v in logs.items() if k in ("loss", "eval_loss")}
                )

        def on_train_end(self, args, state, control, **kw):
            if self.shown is not None:
                self.shown.close()
                self.shown = None

    return Bar()


def bound_images(processor: Any, min_pixels: int | None, max_pixels: int | None) -> None:
    """Set the image processor's pixel bounds (Qwen2-VL family: shortest_edge / longest_edge are
    pixel counts); `save_pretrained` then carries them to inference."""
    if min_pixels is None and max_pixels is None:
        return
    ip = processor.image_processor
    size = dict(getattr(ip, "size", None) or {})
    if "longest_edge" not in size:
        raise UserError(
            f"--min-pixels/--max-pixels: {type(ip).__name__} has no pixel bounds (Qwen2-VL family only)"
        )
    ip.size = {
        "shortest_edge": size["shortest_edge"] if min_pixels is None else min_pixels,
        "longest_edge": size["longest_edge"] if max_pixels is None else max_pixels,
    }


def _sft_config(cfg: DistillConfig, checkpoints: Path, evaluate: bool):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(checkpoints),
        max_length=None,  # never cut image tokens
        completion_only_loss=True,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.lr(),
        lr_scheduler_type=cfg.scheduler,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        bf16=cfg.bf16,
        fp16=False,
        activation_checkpointing=cfg.gradient_checkpointing,  # transformers 5's name for it
        activation_checkpointing_kwargs={"use_reentrant": False},
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=cfg.save_steps,
        report_to="none",
        disable_tqdm=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
    )


def _peft_config(cfg: DistillConfig):
    if not cfg.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=[t.strip() for t in cfg.lora_targets.split(",") if t.strip()],
        task_type="CAUSAL_LM",
    )


def make_trainer(
    cfg: DistillConfig,
    prompt_cfg: RefineConfig,
    units: list[Path],
    sidecars: Path,
    base: str,
    out: Path,
    progress: bool = True,
    callbacks: tuple = (),
):
    """The SFTTrainer of a run (model and processor loaded, datasets built or reused)."""
    import torch
    from accelerate import PartialState
    from transformers import AutoModelForImageTextToText, AutoProcessor, PrinterCallback, ProgressCallback
    from trl import SFTTrainer

    with PartialState().main_process_first():  # one process builds the on-disk dataset
        train, val = sft_data.build(
            units, sidecars, prompt_cfg, cfg.seed, cfg.val_fraction, out / ".sft-data"
        )
    processor = AutoProcessor.from_pretrained(base)
    bound_images(processor, cfg.min_pixels, cfg.max_pixels)
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(cfg, out / "checkpoints", val is not None),
        train_dataset=train,
        eval_dataset=val,
        processing_class=processor,
        peft_config=_peft_config(cfg),
        callbacks=[_bar_callback(progress), *callbacks],
    )
    for cb in (ProgressCallback, PrinterCallback):
        trainer.remove_callback(cb)
    return trainer


def _save(trainer, cfg: DistillConfig, out: Path) -> None:
    """The plain model (LoRA merged) and its processor in `out`, from the main process."""
    import torch

    model = trainer.model
    if cfg.lora:
        model = model.merge_and_unload()
    if cfg.bf16:
        model = model.to(torch.bfloat16)
    model.save_pretrained(out)
    trainer.processing_class.save_pretrained(out)


def run_distill(
    cfg: DistillConfig,
    prompt_cfg: RefineConfig,
    inputs: str | Path,
    sidecars: str | Path,
    base: str,
    output: str | Path,
    overwrite: bool = False,
    progress: bool = True,
    callbacks: tuple = (),
) -> dict[str, Any]:
    """Fine-tune `base` on the teacher's records of `inputs` (its `sidecars`) into `output`; returns
    and writes the run's stats (record counts, losses). Refuses (`UserError`) before any work what
    cannot succeed; a rerun of the same call resumes from the last checkpoint."""
    out, sidecars = Path(output), Path(sidecars)
    preflight.extras(cfg.lora)
    units = resolve_inputs(inputs)
    records = preflight.teacher_records(units, sidecars)
    preflight.enough(records, cfg.min_records, sidecars)
    config = preflight.base_model(base)
    settings = {
        "base": base,
        "input": str(inputs),
        "sidecars": str(sidecars),
        "distill": cfg.to_dict(),
        "prompt_hash": prompt_cfg.prompt().hash,
        "no_image": prompt_cfg.no_image,
    }
    preflight.same_run(out, settings, overwrite)
    params = preflight.warn_if_slow(config, base, cfg.lora)
    if overwrite:
        for stale in (out / "checkpoints", out / ".sft-data"):
            shutil.rmtree(stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / preflight.CONFIG, json.dumps(settings, indent=1, sort_keys=True) + "\n")
    start = time.perf_counter()
    trainer = make_trainer(cfg, prompt_cfg, units, sidecars, base, out, progress, callbacks)
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(out / "checkpoints")) if (out / "checkpoints").is_dir() else None
    if last:
        log.info("distill: resuming from %s", last)
    trainer.train(resume_from_checkpoint=last)
    final = trainer.evaluate() if trainer.eval_dataset is not None else {}
    stats = {
        "base": base,
        "parameters": params,
        "teacher_records": records,
        "train_records": len(trainer.train_dataset),
        "validation_records": len(trainer.eval_dataset) if trainer.eval_dataset is not None else 0,
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "eval_loss": final.get("eval_loss"),
        "log_history": trainer.state.log_history,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    if trainer.is_world_process_zero():
        _save(trainer, cfg, out)
        write_text(out / STATS, json.dumps(stats, indent=1) + "\n")
        _plot(stats, out / "loss.png")
    return stats


def _plot(stats: dict[str, Any], path: Path) -> None:
    from hqclip.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, label in (("loss", "train"), ("eval_loss", "validation")):
        pts = [(h["step"], h[key]) for h in stats["log_history"] if key in h]
        if pts:
            ax.plot(*zip(*pts), marker="." if key == "eval_loss" else None, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)
