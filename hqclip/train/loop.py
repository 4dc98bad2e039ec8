"""`run(config)`: the HQ-CLIP training loop on open_clip models, single process or under torchrun."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from open_clip_train.scheduler import cosine_lr

from hqclip import progress
from hqclip.train import checkpoint, distributed, preflight
from hqclip.train.batch import TextSpec
from hqclip.train.cache import CachedTokenizer
from hqclip.train.config import TrainConfig
from hqclip.train.loader import ShardStream, StreamSpec, count_samples, make_loader, readers_per_rank
from hqclip.train.loss import HQCLIPLoss
from hqclip.train.models import create, model_config, write_model_config
from hqclip.train.module import HQCLIPModule
from hqclip.train.optim import adamw
from hqclip.train.texts import parse_neg_swap, parse_text_mix

log = logging.getLogger("hqclip.train")
TERMS = ("loss", "contrastive", "hni", "stc")


def _autocast(cfg: TrainConfig, device: torch.device):
    prec = cfg.precision if cfg.precision != "auto" else ("bf16" if device.type == "cuda" else "fp32")
    if prec == "fp32":
        return prec, contextlib.nullcontext
    dtype = torch.bfloat16 if prec == "bf16" else torch.float16
    return prec, lambda: torch.autocast(device.type, dtype=dtype)


def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def _open_metrics(path: Path, step: int):
    """A fresh file for a fresh run; on resume, drop rows logged after the checkpoint's step."""
    rows = path.read_text().splitlines() if step and path.exists() else []
    f = open(path, "w")
    f.writelines(r + "\n" for r in rows if json.loads(r)["step"] <= step)
    return f


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train; returns {"steps", "checkpoint", "metrics", "counts", "last"}. A mistake in `cfg` or
    its inputs raises `preflight.UsageError` before any work."""
    d = distributed.init()
    if d.device.type == "cuda":  # as open_clip_train.main does
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    out_dir = Path(cfg.output)
    ckpt_dir = out_dir / "checkpoints"
    inputs = preflight.check(cfg, d.world_size)
    load_counts = {"shard_without_sidecar": len(inputs.without_sidecar)} if inputs.without_sidecar else {}
    try:
        resume_path = checkpoint.resolve(cfg.resume, out_dir) if cfg.resume else None
    except FileNotFoundError as e:
        raise preflight.UsageError(str(e)) from None
    state = checkpoint.load(resume_path) if resume_path else None
    stc_head = cfg.stc_head if cfg.stc_weight > 0 else None
    vocab_list = preflight.vocab(cfg, inputs.sidecars, state)
    n_samples = cfg.train_num_samples or count_samples(inputs.shards)
    per_epoch = n_samples // (cfg.batch_size * d.world_size)
    if per_epoch < 1:
        raise preflight.UsageError(f"{n_samples} samples per epoch < one global batch of "
                                   f"{cfg.batch_size * d.world_size}; lower --batch-size")
    stream_spec = StreamSpec(inputs.shards, cfg.batch_size, per_epoch, cfg.seed, d.rank, d.world_size,
                             cfg.resampled, cfg.shuffle_buffer)
    readers = max(1, readers_per_rank(stream_spec, cfg.workers))
    if state:
        preflight.resume_matches(state["data"], readers, cfg, d.world_size)

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    clip, transform, _, tokenizer = create(cfg.model, cfg.pretrained, str(d.device), cfg.grad_checkpointing)
    if cfg.cache:
        tokenizer = CachedTokenizer(tokenizer)
    module = HQCLIPModule(clip, stc_head, model_config(cfg.model)["embed_dim"], len(vocab_list)).to(d.device)
    optimizer = adamw(module, cfg)
    prec, autocast = _autocast(cfg, d.device)
    scaler = torch.amp.GradScaler(d.device.type, enabled=prec == "fp16")
    total = cfg.steps or cfg.epochs * per_epoch
    scheduler = cosine_lr(optimizer, cfg.lr, cfg.warmup, total)

    step = 0
    if cfg.resume and not state and d.is_master:
        log.info("--resume %s: no checkpoint in %s yet, starting fresh", cfg.resume, ckpt_dir)
    if state:
        module.clip.load_state_dict(state["state_dict"])
        module.load_state_dict({**module.state_dict(), **state["heads"]})
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
        checkpoint.set_rng_state(state["rng"][d.rank] if d.rank < len(state["rng"]) else state["rng"][0])
        if d.is_master:
            log.info("resumed from %s at step %d", resume_path, step)

    model = module
    if d.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            module, device_ids=[d.device] if d.device.type == "cuda" else None,
            static_graph=cfg.grad_checkpointing)
    loss_fn = HQCLIPLoss(cfg.hni_weight, cfg.stc_weight, cfg.stc_head, cfg.local_loss,
                         cfg.gather_with_grad, d.rank, d.world_size)
    text_spec = TextSpec(parse_text_mix(cfg.text_mix), parse_neg_swap(cfg.neg_swap), cfg.max_tags,
                         want_neg=cfg.hni_weight > 0, want_tags=stc_head == "text",
                         alt_neg=cfg.alt_neg)
    vocab = {t: i for i, t in enumerate(vocab_list)} if vocab_list else None

    writer, metrics_f, bar = None, None, None
    if d.is_master:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_model_config(cfg.model, out_dir / f"{cfg.model}.json")
        (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        metrics_f = _open_metrics(out_dir / "metrics.jsonl", step)
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out_dir / "tensorboard"))
        if cfg.progress:
            bar = progress.bar(total=total, initial=step, desc="train", unit="step")
        log.info("%d shards (%d without a sidecar), %d samples/epoch, %d steps/epoch, %d steps",
                 len(inputs.shards), len(inputs.without_sidecar), n_samples, per_epoch, total)

    counts: Counter = Counter()
    totals: Counter = Counter(load_counts if d.is_master else {})
    sums: Counter = Counter()
    n_logged, t_log = 0, time.perf_counter()
    last: dict[str, float] = {}
    ckpt_path = None
    stop = min(total, cfg.stop_after or total)

    # each reader's position after its last consumed batch (this rank's; the checkpoint has all)
    positions = state["data"]["streams"][d.rank] if state and step % per_epoch else [None] * readers

    def save() -> Path:
        rngs, streams = [None] * d.world_size, [None] * d.world_size
        if d.world_size > 1:
            torch.distributed.all_gather_object(rngs, checkpoint.rng_state())
            torch.distributed.all_gather_object(streams, positions)
        else:
            rngs, streams = [checkpoint.rng_state()], [positions]
        path = ckpt_dir / f"step_{step:08d}.pt"
        if d.is_master:
            checkpoint.save(path, {
                "state_dict": module.clip.state_dict(), "heads": module.head_state_dict(),
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "step": step, "epoch": step // per_epoch, "data": {
                    "epoch": step // per_epoch, "batches_done": step % per_epoch,
                    "readers": readers, "batch_size": cfg.batch_size, "world_size": d.world_size,
                    "streams": streams},
                "rng": rngs, "model": cfg.model, "config": cfg.to_dict(), "vocab": vocab_list})
        return path

    while step < stop:
        epoch, skip = divmod(step, per_epoch)
        if not skip:
            positions = [None] * readers
        stream = ShardStream(stream_spec, text_spec, inputs.sidecars, transform, tokenizer, vocab,
                             epoch, skip, positions if skip else None, cache=cfg.cache)
        for batch in make_loader(stream, cfg.workers):
            scheduler(step)
            counts.update(batch.pop("counts"))
            batch.pop("uids")
            reader = batch.pop("stream")
            positions[reader["reader"]] = reader["state"]
            batch = _to(batch, d.device)
            with autocast():
                losses = loss_fn(**model(batch))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(losses["loss"]).backward()
            if cfg.grad_clip_norm is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip_norm)
            scaler.step(optimizer)
            scaler.update()
            with torch.no_grad():
                module.clip.logit_scale.clamp_(0, math.log(100))
            step += 1
            for k in TERMS:
                if k in losses:
                    sums[k] += float(losses[k].detach())
            n_logged += 1
            if step % cfg.log_every == 0 or step == stop:
                vals = distributed.all_mean(torch.tensor([sums[k] / n_logged for k in TERMS],
                                                         dtype=torch.float64, device=d.device), d)
                last = {k: v for k, v in zip(TERMS, vals.tolist()) if k in losses}
                step_counts = distributed.all_sum_counts(counts, d)
                totals.update(step_counts)
                dt = time.perf_counter() - t_log
                row = {"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"], **last,
                       "logit_scale": float(module.clip.logit_scale.detach().exp()),
                       "samples_per_s": n_logged * cfg.batch_size * d.world_size / max(dt, 1e-9),
                       "counts": dict(totals)}
                if d.is_master:
                    metrics_f.write(json.dumps(row) + "\n")
                    metrics_f.flush()
                    for k in (*last, "lr", "logit_scale", "samples_per_s"):
                        writer.add_scalar(f"train/{k}", row[k], step)
                    if bar is not None:
                        bar.set_postfix({"samples/s": f"{row['samples_per_s']:.0f}",
                                         **{k: f"{v:.3f}" for k, v in last.items()}})
                sums.clear()
                counts.clear()
                n_logged, t_log = 0, time.perf_counter()
            if bar is not None:
                bar.update(1)
            if step % cfg.save_every == 0 or step == stop:
                ckpt_path = save()
            if step >= stop or step % per_epoch == 0:
                break
    if d.is_master:
        if bar is not None:
            bar.close()
        writer.close()
        metrics_f.close()
    return {"steps": step, "checkpoint": str(ckpt_path) if ckpt_path else None,
            "metrics": str(out_dir / "metrics.jsonl"), "counts": dict(totals), "last": last}
