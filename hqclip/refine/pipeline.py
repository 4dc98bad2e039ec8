"""The per-shard function: read → decode → prompt → model → parse → validate (retry) → sidecar.

It is the same function whichever runner calls it (in-process or a Ray task). Every sample the
reader yields gets exactly one row: `ok`, or `invalid` with the reason of its last attempt (an
unreadable image is invalid with `input:<reason>` and never reaches the model). One bad sample
never fails a shard; only `BackendUnavailable` does, and then nothing of the shard is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from hqclip.data.inputs import iter_unit
from hqclip.data.samples import BadSample, Sample, SkipLog, decode_image
from hqclip.data.sidecar import sidecar_path, write_sidecar
from hqclip.refine.backends.base import Backend, BackendUnavailable, Request, Response
from hqclip.refine.config import RefineConfig
from hqclip.refine.parse import parse
from hqclip.refine.prompt import Prompt
from hqclip.refine.sample import in_sample
from hqclip.refine.stats import shard_stats
from hqclip.schema import FIELDS
from hqclip.units import resume
from hqclip.units.batching import map_unit

log = logging.getLogger("hqclip.refine")

Progress = Callable[[int, int], None]  # (samples finished, of which ok)


def sample_seed(seed: int, uid: str, attempt: int) -> int:
    """Per-sample, per-attempt seed: a retry samples differently, a rerun reproduces."""
    digest = hashlib.blake2b(f"{seed}:{uid}:{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF


@dataclasses.dataclass
class _Ctx:
    cfg: RefineConfig
    backend: Backend
    prompt: Prompt
    model: str
    unit: Path


def _row(req: Request | Sample, ctx: _Ctx, **kw: Any) -> dict[str, Any]:
    return {"uid": req.uid, "key": req.key, "model": ctx.model, "prompt_hash": ctx.prompt.hash, **kw}


def _request(s: Sample, ctx: _Ctx) -> Request:
    image = None if ctx.cfg.no_image else decode_image(s.image_bytes, ctx.cfg.max_pixels)
    return Request(
        uid=s.uid,
        key=s.key,
        alt_text=s.text,
        prompt=ctx.prompt.render(s.text),
        image=image,
        image_bytes=None if ctx.cfg.no_image else s.image_bytes,
        ext=s.ext,
        meta=s.meta,
    )


def _generate(ctx: _Ctx, batch: list[Request]) -> list:
    """The backend's answers; a batch-level exception fails the attempt of each request in it
    (retried like an invalid answer) — except BackendUnavailable, which stops the run."""
    try:
        out = ctx.backend.generate(batch)
        if len(out) != len(batch):
            raise RuntimeError(f"backend returned {len(out)} answers for {len(batch)} requests")
        return out
    except BackendUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - one bad batch must not fail the shard
        log.warning(
            "%s: batch of %d samples from %s failed (%s: %s); its samples are retried, then kept as invalid",
            ctx.unit,
            len(batch),
            batch[0].key,
            type(e).__name__,
            e,
        )
        return [Response(None, error=f"backend_error:{type(e).__name__}") for _ in batch]


def _run_batch(ctx: _Ctx, reqs: list[Request]) -> list[dict[str, Any]]:
    """Answer, parse and validate a batch, retrying failures up to cfg.max_retries times."""
    rows: list[dict[str, Any] | None] = [None] * len(reqs)
    tok_in, tok_out, lat = [0] * len(reqs), [0] * len(reqs), [0.0] * len(reqs)
    last: dict[int, tuple[str, str | None]] = {}
    pending = list(range(len(reqs)))
    attempts = ctx.cfg.max_retries + 1
    for attempt in range(1, attempts + 1):
        batch = [
            dataclasses.replace(
                reqs[i], attempt=attempt, seed=sample_seed(ctx.cfg.seed, reqs[i].uid, attempt)
            )
            for i in pending
        ]
        failed = []
        for i, resp in zip(pending, _generate(ctx, batch)):
            tok_in[i] += resp.tokens_in or 0
            tok_out[i] += resp.tokens_out or 0
            lat[i] += resp.latency_s
            rec, reason, dropped = (
                (None, resp.error, [])
                if resp.error
                else parse(resp.text, resp.finish_reason, ctx.cfg.salvage)
            )
            if rec is None:
                last[i] = (reason or "unknown", resp.text)
                failed.append(i)
            else:  # a salvaged answer keeps its raw text beside the names of the dropped pairs
                rows[i] = _row(
                    reqs[i],
                    ctx,
                    **rec,
                    status="ok",
                    reason=None,
                    attempts=attempt,
                    dropped=dropped or None,
                    raw=(resp.text or "")[: ctx.cfg.raw_chars] if dropped else None,
                )
        pending = failed
        if not pending:
            break
    for i in pending:
        reason, raw = last[i]
        rows[i] = _row(
            reqs[i],
            ctx,
            status="invalid",
            reason=reason,
            attempts=attempts,
            raw=(raw or "")[: ctx.cfg.raw_chars] or None,
        )
    for i, row in enumerate(rows):
        row.update(tokens_in=tok_in[i] or None, tokens_out=tok_out[i] or None, latency_s=round(lat[i], 4))
    return rows  # type: ignore[return-value]


def refine_shard(
    unit: str | Path,
    out_dir: str | Path,
    cfg: RefineConfig,
    backend: Backend,
    fp: str,
    progress: Progress | None = None,
    fraction: float | None = None,
) -> dict[str, Any]:
    """Refine one shard (or caption table) into `<out_dir>/<stem>.parquet` + done marker;
    returns its stats. `fraction`: only the samples of the seed set (`hqclip.refine.sample`)."""
    start = time.perf_counter()
    unit, out_dir = Path(unit), Path(out_dir)
    sidecar = sidecar_path(unit, out_dir)
    stamp = resume.input_stamp(unit)
    resume.mark_running(sidecar)
    ctx = _Ctx(cfg, backend, cfg.prompt(), backend.model_name, unit)
    skips = SkipLog()

    def unreadable(s: Sample, e: BadSample) -> dict[str, Any]:
        log.warning("%s: sample %s not refined (%s); the row is kept as invalid", unit, s.key, e.reason)
        return _row(s, ctx, status="invalid", reason=f"input:{e.reason}", attempts=0)

    samples = iter_unit(unit, skips)
    if fraction is not None:
        samples = (s for s in samples if in_sample(cfg.seed, s.uid, fraction))
    rows = map_unit(
        samples,
        partial(_request, ctx=ctx),
        partial(_run_batch, ctx),
        unreadable,
        cfg.batch_size,
        progress,
    )
    stats = shard_stats(rows, skips.as_dict(), time.perf_counter() - start)
    for r in rows:
        for f in FIELDS:
            r.setdefault(f, None)
    write_sidecar(sidecar, rows, metadata={"fingerprint": fp, "prompt": ctx.prompt.name, "model": ctx.model})
    resume.mark_done(sidecar, fp, stats, stamp)
    return stats
