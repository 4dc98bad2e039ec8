"""`--eval-every N --eval-data DIR`: watch zero-shot, retrieval and SugarCrepe while training, with
eval's own code (`hqclip.eval.evaluate`, as `hqclip eval` runs it) on the model being trained, at
step 0, every N steps and at the last step. Rank 0 evaluates while the other ranks wait at a
barrier; the headline numbers (the columns of eval's table) go into metrics.jsonl as a row
`{"step", "eval": {...}, "eval_s"}` and into TensorBoard as `eval/<column>`. The model's mode and
every RNG are restored afterwards, so a run's losses do not depend on whether it is watched."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from hqclip.errors import UserError
from hqclip.train import checkpoint
from hqclip.train.config import TrainConfig

if TYPE_CHECKING:
    from hqclip.train.loop import RunLog, State

log = logging.getLogger("hqclip.train")


def _clip_benchmark(data: Path) -> bool:
    """A local WebDataset in CLIP_benchmark's layout (what `hqclip eval --clip-benchmark wds/NAME` reads)."""
    return (data / "test" / "nshards.txt").is_file()


def check(cfg: TrainConfig) -> None:
    """Refuse --eval-every / --eval-data that cannot run, before any work."""
    from hqclip.eval.splits import eval_dir

    if (cfg.eval_every is None) != (cfg.eval_data is None):
        raise UserError("give --eval-every and --eval-data together")
    if cfg.eval_data is None:
        return
    data = Path(cfg.eval_data)
    folders = ("zeroshot", "retrieval", "sugarcrepe", "winoground")
    if not _clip_benchmark(data) and not any((eval_dir(data) / f).is_dir() for f in folders):
        raise UserError(
            f"--eval-data {data}: not a world folder, an eval folder ({', '.join(folders)}) or a "
            "CLIP_benchmark wds folder (test/nshards.txt)"
        )


def due(cfg: TrainConfig, step: int, stop: int) -> bool:
    return cfg.eval_every is not None and (step % cfg.eval_every == 0 or step == stop)


def evaluate(s: State, out: RunLog) -> None:
    """Evaluate the model now (rank 0) and log the row; every rank calls this."""
    if s.d.is_master:
        t = time.perf_counter()
        numbers = _numbers(s)
        dt = time.perf_counter() - t
        out.metrics.write(json.dumps({"step": s.step, "eval": numbers, "eval_s": dt}) + "\n")
        out.metrics.flush()
        for name, value in numbers.items():
            out.writer.add_scalar(f"eval/{name}", value, s.step)
        log.info("step %d eval (%.0f s): %s", s.step, dt, numbers)
        out.t += dt  # the next row's throughput counts training time only
    if s.d.world_size > 1:
        torch.distributed.barrier()


def _numbers(s: State) -> dict[str, float]:
    from hqclip.eval import evaluate
    from hqclip.eval.eval_report import summary

    clip, data = s.module.clip, Path(s.cfg.eval_data)
    wds = _clip_benchmark(data)
    label = s.cfg.model
    rng, was_training = checkpoint.rng_state(s.d.device), clip.training
    try:
        with torch.no_grad():
            results = evaluate(
                {label: (clip, s.eval_transform, s.tokenizer)},
                None if wds else data,
                clip_benchmark=[f"wds/{data.name}"] if wds else (),
                clip_benchmark_root=str(data),
            )
    finally:
        clip.train(was_training)
        checkpoint.set_rng_state(rng, s.d.device)
    cols, rows = summary(results)
    return {c: v for c, v in zip(cols, rows[label]) if v is not None}
