"""`run(config)`: the HQ-CLIP training loop on open_clip models, single process or under torchrun.
`setup` checks the inputs and builds (or resumes) the model and optimiser, `step` is one optimiser
step, `RunLog` writes what the run reports (metrics.jsonl, TensorBoard, the bar) and `save` writes
a resumable checkpoint."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from open_clip_train.scheduler import cosine_lr
from torch.utils.tensorboard import SummaryWriter

from hqclip import progress
from hqclip.clip.configs import create, local_name, model_config, write_model_config
from hqclip.data.atomic import write_text
from hqclip.errors import UserError
from hqclip.train import checkpoint, distributed, eval_hook, lock, memory, preflight
from hqclip.train.batch import TextSpec
from hqclip.train.cache import CachedTokenizer
from hqclip.train.config import TrainConfig
from hqclip.train.images import TrainImages
from hqclip.train.loader import ShardStream, StreamSpec, count_samples, make_loader, readers_per_rank
from hqclip.train.loss import HQCLIPLoss
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


@dataclass
class State:
    """Everything a run's steps share: its inputs, model, optimiser and position."""

    cfg: TrainConfig
    d: distributed.Dist
    inputs: preflight.Inputs
    n_samples: int
    per_epoch: int  # global batches per epoch
    total: int  # steps of the schedule
    stop: int  # this invocation stops here (--stop-after)
    readers: int  # loader readers on this rank
    stream_spec: StreamSpec
    text_spec: TextSpec
    transform: TrainImages
    eval_transform: Callable  # the model's eval transform (create's), for --eval-every
    tokenizer: Callable
    vocab_list: list[str] | None
    module: HQCLIPModule
    model: torch.nn.Module  # the module, wrapped in DDP on several ranks
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    scheduler: Callable[[int], Any]
    autocast: Callable
    loss_fn: HQCLIPLoss
    step: int = 0
    positions: list = field(default_factory=list)  # each reader's position after its last batch

    @property
    def vocab(self) -> dict[str, int] | None:
        return {t: i for i, t in enumerate(self.vocab_list)} if self.vocab_list else None


def setup(cfg: TrainConfig) -> State:
    """Check `cfg` and its inputs (a mistake raises `UserError` before any work), then
    build the model, optimiser and schedule, from the checkpoint when resuming."""
    d = distributed.init(cfg.device)
    if d.device.type == "cuda":  # as open_clip_train.main does
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    out_dir = Path(cfg.output)
    cfg = preflight.normalized(cfg)
    inputs = preflight.check(cfg, d.world_size)
    prec, autocast = _autocast(cfg, d.device)
    if d.is_master:
        log.info(
            "device %s / backend %s / precision %s / world size %d",
            d.device,
            d.backend if d.world_size > 1 else "none",
            prec,
            d.world_size,
        )
    model_cfg = model_config(cfg.model)  # read once: for an hf-hub: model each read asks the hub
    _memory(cfg, d, prec, model_cfg)
    try:
        resume_path = checkpoint.resolve(cfg.resume, out_dir) if cfg.resume else None
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    resumed = checkpoint.load(resume_path) if resume_path else None
    _same_resume_everywhere(resumed, out_dir, d)
    stc_head = cfg.stc_head if cfg.stc_weight > 0 else None
    vocab_list = preflight.vocab(cfg, inputs.sidecars, resumed)
    n_samples = cfg.train_num_samples or distributed.from_master(
        count_samples(inputs.shards) if d.is_master else None, d
    )
    per_epoch = n_samples // (cfg.batch_size * d.world_size)
    if per_epoch < 1:
        raise UserError(
            f"{n_samples} samples per epoch < one global batch of "
            f"{cfg.batch_size * d.world_size}; lower --batch-size"
        )
    stream_spec = StreamSpec(
        inputs.shards,
        cfg.batch_size,
        per_epoch,
        cfg.seed,
        d.rank,
        d.world_size,
        cfg.resampled,
        cfg.shuffle_buffer,
    )
    readers = max(1, readers_per_rank(stream_spec, cfg.workers))
    if resumed:
        preflight.resume_matches(resumed["data"], readers, cfg, d.world_size, per_epoch)
        lock.resume_matches(resumed["config"], cfg)

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    clip, transform, eval_transform, tokenizer = create(
        cfg.model, cfg.pretrained, str(d.device), cfg.grad_checkpointing
    )
    lock.lock(clip, cfg)
    transform = TrainImages(transform)  # uint8 from the loader, normalised in `step`
    if cfg.cache:
        tokenizer = CachedTokenizer(tokenizer)
    module = HQCLIPModule(clip, stc_head, model_cfg["embed_dim"], len(vocab_list)).to(d.device)
    optimizer = adamw(module, cfg)
    scaler = torch.amp.GradScaler(d.device.type, enabled=prec == "fp16")
    total = cfg.steps or cfg.epochs * per_epoch
    scheduler = cosine_lr(optimizer, cfg.lr, cfg.warmup, total)

    step = 0
    if cfg.resume and not resumed and d.is_master:
        log.info("--resume %s: no checkpoint in %s yet, starting fresh", cfg.resume, out_dir / "checkpoints")
    if resumed:
        module.clip.load_state_dict(resumed["state_dict"])
        module.load_state_dict({**module.state_dict(), **resumed["heads"]})
        optimizer.load_state_dict(resumed["optimizer"])
        if resumed["scaler"] and scaler.is_enabled():  # empty unless it was saved by an fp16 run
            scaler.load_state_dict(resumed["scaler"])
        step = int(resumed["step"])
        rngs = resumed["rng"]
        checkpoint.set_rng_state(rngs[d.rank] if d.rank < len(rngs) else rngs[0], d.device)
        if d.is_master:
            log.info("resumed from %s at step %d", resume_path, step)

    model: torch.nn.Module = module
    if d.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            module,
            device_ids=[d.device] if d.device.type == "cuda" else None,
            static_graph=cfg.grad_checkpointing,
        )
    if cfg.compile:  # the forward only: the module's parameters, heads and checkpoints stay as they are
        model = torch.compile(model)
    loss_fn = HQCLIPLoss(
        cfg.hni_weight,
        cfg.stc_weight,
        cfg.stc_head,
        cfg.local_loss,
        cfg.gather_with_grad,
        d.rank,
        d.world_size,
    )
    text_spec = TextSpec(
        parse_text_mix(cfg.text_mix),
        parse_neg_swap(cfg.neg_swap),
        cfg.max_tags,
        want_neg=cfg.hni_weight > 0,
        want_tags=stc_head == "text",
        alt_neg=cfg.alt_neg,
    )
    positions = resumed["data"]["streams"][d.rank] if resumed and step % per_epoch else [None] * readers
    return State(
        cfg,
        d,
        inputs,
        n_samples,
        per_epoch,
        total,
        min(total, cfg.stop_after or total),
        readers,
        stream_spec,
        text_spec,
        transform,
        eval_transform,
        tokenizer,
        vocab_list,
        module,
        model,
        optimizer,
        scaler,
        scheduler,
        autocast,
        loss_fn,
        step,
        positions,
    )


def _memory(cfg: TrainConfig, d: distributed.Dist, prec: str, model_cfg: dict[str, Any]) -> None:
    """Say the per-rank memory estimate (rank 0) with the GPU's memory; refuse a batch that clearly
    cannot fit (every rank, before any work)."""
    texts = memory.texts_per_image(
        cfg.hni_weight > 0, cfg.stc_weight > 0 and cfg.stc_head == "text", cfg.max_tags
    )
    est = memory.estimate(model_cfg, cfg.batch_size, texts, prec, cfg.grad_checkpointing)
    if est is None:
        return
    gpu = ""
    warning = None
    if d.device.type == "cuda":
        gpu_gib = torch.cuda.get_device_properties(d.device).total_memory / memory.GIB
        gpu = f"; {d.device} has {gpu_gib:.0f} GiB"
        warning = memory.check_fits(est, gpu_gib, cfg.grad_checkpointing, cfg.batch_size)
    if d.is_master:
        log.info("memory estimate %s%s", est.describe(prec, cfg.grad_checkpointing), gpu)
        if warning:
            log.warning(warning)


def _same_resume_everywhere(resumed: dict[str, Any] | None, out_dir: Path, d: distributed.Dist) -> None:
    """Every rank resumes from the same step, or none starts: a rank that sees another checkpoint
    (or none) would run a loop of another length and hang the others."""
    steps = distributed.gathered(int(resumed["step"]) if resumed else None, d)
    if len(set(steps)) > 1:
        raise UserError(
            f"ranks see different checkpoints in {out_dir / 'checkpoints'} (steps by rank: {steps}); "
            "--output must be on a filesystem that every node shares"
        )


def step(s: State, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
    """One optimiser step on `batch` (the loader's, without its bookkeeping); returns the losses."""
    s.scheduler(s.step)
    batch = _to(s.module.prepare(batch), s.d.device)
    batch["images"] = s.transform.normalize(batch["images"])
    with s.autocast():
        losses = s.loss_fn(**s.model(batch))
    s.optimizer.zero_grad(set_to_none=True)
    s.scaler.scale(losses["loss"]).backward()
    if s.cfg.grad_clip_norm is not None:
        s.scaler.unscale_(s.optimizer)
        torch.nn.utils.clip_grad_norm_(s.module.parameters(), s.cfg.grad_clip_norm)
    s.scaler.step(s.optimizer)
    s.scaler.update()
    with torch.no_grad():
        s.module.clip.logit_scale.clamp_(0, math.log(100))
    s.step += 1
    return losses


def stream(s: State, epoch: int, skip: int) -> ShardStream:
    """The run's batches of `epoch` from batch `skip` on (resumed from `s.positions` when `skip`)."""
    return ShardStream(
        s.stream_spec,
        s.text_spec,
        s.inputs.sidecars,
        s.transform,
        s.tokenizer,
        s.vocab,
        epoch,
        skip,
        s.positions if skip else None,
        cache=s.cfg.cache,
    )


def save(s: State) -> Path:
    """A checkpoint of the model, optimiser, RNGs and every rank's reader positions (all ranks
    take part; the master writes it). Returns its path."""
    rngs = distributed.gathered(checkpoint.rng_state(s.d.device), s.d)
    streams = distributed.gathered(s.positions, s.d)
    path = Path(s.cfg.output) / "checkpoints" / f"step_{s.step:08d}.pt"
    if s.d.is_master:
        checkpoint.save(
            path,
            {
                "state_dict": s.module.clip.state_dict(),
                "heads": s.module.head_state_dict(),
                "optimizer": s.optimizer.state_dict(),
                "scaler": s.scaler.state_dict(),
                "step": s.step,
                "epoch": s.step // s.per_epoch,
                "data": {
                    "epoch": s.step // s.per_epoch,
                    "batches_done": s.step % s.per_epoch,
                    "readers": s.readers,
                    "batch_size": s.cfg.batch_size,
                    "world_size": s.d.world_size,
                    "per_epoch": s.per_epoch,
                    "streams": streams,
                },
                "rng": rngs,
                "model": s.cfg.model,
                "config": s.cfg.to_dict(),
                "vocab": s.vocab_list,
            },
        )
    return path


def _kept_metrics(path: Path, step: int) -> str:
    """The rows of `path` up to `step` (a resumed run replaces those logged after its checkpoint);
    nothing for a fresh run. A row cut short by a kill is dropped."""
    if not step or not path.exists():
        return ""
    kept = []
    for r in path.read_text().splitlines():
        try:
            row = json.loads(r)
        except json.JSONDecodeError:
            continue
        if row["step"] <= step:
            kept.append(r + "\n")
    return "".join(kept)


class RunLog:
    """What a run reports, every `log_every` steps: the mean losses over ranks, lr, logit scale,
    throughput and the loader's counts, to metrics.jsonl, TensorBoard and the bar (the master
    writes; every rank takes part in the means). Entering writes config.json and the model config;
    leaving closes every file, also when the run fails."""

    def __init__(self, s: State, load_counts: dict[str, int]):
        self.s = s
        self.totals: Counter = Counter(load_counts if s.d.is_master else {})
        self.counts: Counter = Counter()
        self.sums: torch.Tensor | float = 0.0  # of TERMS, on the device: read back at log steps only
        self.n, self.t = 0, 0.0
        self.last: dict[str, float] = {}
        self.metrics, self.writer, self.bar = None, None, None
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> RunLog:
        if self.s.d.is_master:
            self._open()
        self.t = time.perf_counter()
        return self

    def _open(self) -> None:
        s, cfg = self.s, self.s.cfg
        with self.stack:  # a failure in here closes what it opened
            out = Path(cfg.output)
            out.mkdir(parents=True, exist_ok=True)
            write_model_config(cfg.model, out / f"{local_name(cfg.model)}.json")
            write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2))
            path = out / "metrics.jsonl"
            write_text(path, _kept_metrics(path, s.step))  # the old rows stay whole until replaced
            self.metrics = self.stack.enter_context(open(path, "a"))
            self.writer = SummaryWriter(str(out / "tensorboard"))
            self.stack.callback(self.writer.close)
            if cfg.progress:
                self.bar = progress.bar(total=s.total, initial=s.step, desc="train", unit="step")
                self.stack.callback(self.bar.close)
            self.stack = self.stack.pop_all()
        log.info(
            "%d shards (%d without a sidecar), %d samples/epoch, %d steps/epoch, %d steps",
            len(s.inputs.shards),
            len(s.inputs.without_sidecar),
            s.n_samples,
            s.per_epoch,
            s.total,
        )
        log.info("trainable parameters: %d of %d", *lock.trainable(s.module))

    def __exit__(self, *exc: Any) -> None:
        self.stack.close()

    def add(self, losses: dict[str, torch.Tensor], counts: dict[str, int], epoch: int) -> None:
        """One step's losses and loader counts; a row is written every `log_every` steps."""
        s = self.s
        self.counts.update(counts)
        zero = losses["loss"].new_zeros(())
        self.sums = self.sums + torch.stack([losses.get(k, zero).detach() for k in TERMS]).double()
        self.n += 1
        if s.step % s.cfg.log_every == 0 or s.step == s.stop:
            self._row(losses, epoch)
        if self.bar is not None:
            self.bar.update(1)

    def _row(self, losses: dict[str, torch.Tensor], epoch: int) -> None:
        s = self.s
        vals = distributed.all_mean(self.sums / self.n, s.d)
        self.last = {k: v for k, v in zip(TERMS, vals.tolist()) if k in losses}  # waits for the GPU
        self.totals.update(distributed.all_sum_counts(self.counts, s.d))
        dt = time.perf_counter() - self.t
        row = {
            "step": s.step,
            "epoch": epoch,
            "lr": s.optimizer.param_groups[0]["lr"],
            **self.last,
            "logit_scale": float(s.module.clip.logit_scale.detach().exp()),
            "samples_per_s": self.n * s.cfg.batch_size * s.d.world_size / max(dt, 1e-9),
            "counts": dict(self.totals),
        }
        if s.d.is_master:
            self.metrics.write(json.dumps(row) + "\n")
            self.metrics.flush()
            for k in (*self.last, "lr", "logit_scale", "samples_per_s"):
                self.writer.add_scalar(f"train/{k}", row[k], s.step)
            if self.bar is not None:
                self.bar.set_postfix(
                    {
                        "samples/s": f"{row['samples_per_s']:.0f}",
                        **{k: f"{v:.3f}" for k, v in self.last.items()},
                    }
                )
        self.sums = 0.0
        self.counts.clear()
        self.n, self.t = 0, time.perf_counter()


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train; returns {"steps", "checkpoint", "metrics", "counts", "last"}. A mistake in `cfg` or
    its inputs raises `UserError` before any work."""
    s = setup(cfg)
    without = s.inputs.without_sidecar
    ckpt_path = None
    with RunLog(s, {"shard_without_sidecar": len(without)} if without else {}) as out:
        if s.step == 0 and eval_hook.due(cfg, 0, s.stop):
            eval_hook.evaluate(s, out)
        while s.step < s.stop:
            epoch, skip = divmod(s.step, s.per_epoch)
            if not skip:
                s.positions = [None] * s.readers
            for batch in make_loader(stream(s, epoch, skip), cfg.workers):
                counts = batch.pop("counts")
                batch.pop("uids")
                reader = batch.pop("stream")
                s.positions[reader["reader"]] = reader["state"]
                out.add(step(s, batch), counts, epoch)
                if eval_hook.due(cfg, s.step, s.stop):
                    eval_hook.evaluate(s, out)
                if s.step % cfg.save_every == 0 or s.step == s.stop:
                    ckpt_path = save(s)
                if s.step >= s.stop or s.step % s.per_epoch == 0:
                    break
    distributed.finish(s.d)
    return {
        "steps": s.step,
        "checkpoint": str(ckpt_path) if ckpt_path else None,
        "metrics": str(Path(cfg.output) / "metrics.jsonl"),
        "counts": dict(out.totals),
        "last": out.last,
    }
