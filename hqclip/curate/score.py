"""`hqclip score`: a trained CLIP scores each sample of refined data — the image against its
alt-text, each description sentence and its aligned negative, each tag and negative tag — into a
score sidecar per shard (`hqclip.curate.score_format`).

The per-shard function runs on the per-unit runner (`hqclip.units`: in process, local worker
processes or Ray tasks) with its exactly-once machinery (`hqclip.units.resume`): the score sidecar
is written atomically, then its done marker, which records the fingerprint (the model's weights,
transform and tokenizer: another model never resumes into old scores) and the stamps of the shard
and its sidecar (a re-refined sidecar is scored again). Models load as `hqclip eval` loads them
(`hqclip.clip.load`) and embed through eval's code (`hqclip.eval.embed.encode_images` /
`encode_texts`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hqclip.clip.load import Loaded, ModelSpec, device_of, load, weights_hash
from hqclip.curate import preflight
from hqclip.curate.score_format import SCORE_FIELDS, is_scores, write_scores
from hqclip.data.inputs import estimate_total, iter_unit, resolve_inputs
from hqclip.data.samples import BadSample, Sample, SkipLog, decode_image
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.errors import UserError
from hqclip.eval.embed import encode_images, encode_texts
from hqclip.units import resume
from hqclip.units.batching import map_unit
from hqclip.units.run import worker_index
from hqclip.units.stage import run_stage

log = logging.getLogger("hqclip.curate")

VERSION = 1  # bumped whenever the same model and data would give different scores
_models: dict[tuple[str, str], Loaded] = {}  # per process: a worker's model, reused by its next shards


def stamp(unit: Path, sidecars: Path) -> dict[str, Any]:
    """What a rerun compares: the shard and its sidecar, as they were when the shard was scored."""
    return {"shard": resume.input_stamp(unit), "sidecar": resume.input_stamp(sidecar_path(unit, sidecars))}


def _texts(alt: str, rec: dict | None) -> tuple[list[str], list[tuple[str, int, int]]]:
    """The texts to score for one sample and the (field, start, end) span of each field."""
    texts, spans = [], []
    fields = [("alt", [alt])] if alt.strip() else []  # an empty alt-text gets no score
    for f, items in fields + [(f, rec[f]) for f in SCORE_FIELDS if rec is not None]:
        spans.append((f, len(texts), len(texts) + len(items)))
        texts += items
    return texts, spans


def _score_batch(
    m: Loaded, batch: list[tuple[Any, Any, dict | None]], text_batch: int
) -> list[dict[str, Any]]:
    """Rows for (sample, preprocessed image, record or None) triples: one image forward, one text
    forward over every text of the batch; under bf16 autocast on a GPU (scores move by its rounding)."""
    import torch

    with torch.autocast("cuda", torch.bfloat16, enabled=device_of(m.model).type == "cuda"):
        return _rows(m, batch, text_batch)


def _rows(m: Loaded, batch: list[tuple[Any, Any, dict | None]], text_batch: int) -> list[dict[str, Any]]:
    import torch

    images = encode_images(m, torch.stack([x for _, x, _ in batch]))
    texts, owner, spans = [], [], []
    for i, (s, _, rec) in enumerate(batch):
        t, sp = _texts(s.text, rec)
        spans.append([(f, a + len(texts), b + len(texts)) for f, a, b in sp])
        texts += t
        owner += [i] * len(t)
    sims = (
        np.einsum("nd,nd->n", encode_texts(m, m.tokenizer(texts), max(text_batch, 512)), images[owner])
        if texts
        else np.zeros(0, np.float32)
    )
    rows = []
    for (s, _, rec), sp in zip(batch, spans):
        row: dict[str, Any] = {
            "uid": s.uid,
            "key": s.key,
            "status": "no_record" if rec is None else "ok",
            "alt": None,
        }
        for f, a, b in sp:
            vals = [round(float(v), 6) for v in sims[a:b]]
            row[f] = vals[0] if f == "alt" else vals
        if rec is not None:
            row["margin"] = [p - n for p, n in zip(row["desc"], row["neg_desc"])]
        rows.append(row)
    return rows


def score_shard(
    unit: str | Path,
    sidecars: str | Path,
    out_dir: str | Path,
    m: Loaded,
    fp: str,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every sample of one shard (or caption table) into `<out_dir>/<stem>.parquet` + done
    marker; returns its stats. Each sample the reader yields gets one row: an unreadable image is
    `input:<reason>` with no score, a sample without a valid record gets its alt-text scored."""
    start = time.perf_counter()
    unit, sidecars, out_dir = Path(unit), Path(sidecars), Path(out_dir)
    out = sidecar_path(unit, out_dir)
    before = stamp(unit, sidecars)
    resume.mark_running(out)
    skips = SkipLog()
    records = read_annotations(sidecar_path(unit, sidecars), skips)

    def prepare(s: Sample) -> tuple[Sample, Any, dict | None]:
        return s, m.preprocess(decode_image(s.image_bytes)), records.get(s.uid)

    def unreadable(s: Sample, e: BadSample) -> dict[str, Any]:
        log.warning("%s: sample %s not scored (%s)", unit, s.key, e.reason)
        return {"uid": s.uid, "key": s.key, "status": f"input:{e.reason}"}

    done = map_unit(
        iter_unit(unit, skips),
        prepare,
        partial(_score_batch, m, text_batch=batch_size),
        unreadable,
        batch_size,
        progress,
    )
    status = [r["status"] for r in done]
    stats = {
        "samples": len(done),
        "scored": status.count("ok"),
        "no_record": status.count("no_record"),
        "unreadable": sum(s.startswith("input:") for s in status),
        "skipped": skips.as_dict(),
        "seconds": round(time.perf_counter() - start, 3),
    }
    write_scores(out, done, {"fingerprint": fp, "model": m.spec})
    resume.mark_done(out, fp, stats, before)
    return stats


def _model(spec: str, device: str) -> Loaded:
    """This process's model for the run, loaded by its first shard (or by `check`); one at a time."""
    if (spec, device) not in _models:
        _models.clear()
        _models[(spec, device)] = load(ModelSpec.parse(spec), device)
    return _models[(spec, device)]


def clear_models() -> None:
    """Free this process's models; a later run loads them again."""
    _models.clear()


def worker_device(device: str, index: int, gpus: int) -> str:
    """`--device cuda` in the local runner's worker `index`: GPU index % gpus, so that N workers
    spread over the GPUs instead of all loading a model on cuda:0."""
    return f"cuda:{index % gpus}" if device == "cuda" and gpus > 1 else device


def _job(
    unit: str,
    spec: str,
    device: str,
    sidecars: str,
    out_dir: str,
    batch_size: int,
    fp: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """One shard with this process's model (loaded by its first shard, or by `check`), on this
    worker's GPU."""
    import torch

    device = worker_device(device, worker_index(), torch.cuda.device_count())
    return score_shard(unit, sidecars, out_dir, _model(spec, device), fp, batch_size, progress)


def check(
    spec: str,
    inputs: str | Path,
    sidecars: str | Path,
    out_dir: str | Path,
    device: str,
    batch_size: int,
    workers: int,
) -> tuple[list[Path], Loaded]:
    """The units to score and the loaded model, or `UserError` before any work."""
    if batch_size < 1 or workers < 1:
        raise UserError(f"--batch-size {batch_size} and --workers {workers}: each must be at least 1")
    units = resolve_inputs(inputs)
    files = preflight.sidecars(sidecars)
    annotated = [u for u in units if sidecar_path(u, sidecars).exists()]
    if not annotated:
        raise UserError(
            f"--sidecars {sidecars}: no sidecar for any of the {len(units)} shards of --input "
            f"{inputs} (e.g. {sidecar_path(units[0], sidecars).name}); pass the --output of "
            f"`hqclip refine` made from these shards"
        )
    if len(annotated) < len(units):
        log.warning(
            "%d of %d shards have no sidecar in %s; their samples get only the alt-text scored",
            len(units) - len(annotated),
            len(units),
            sidecars,
        )
    preflight.overlap(annotated[0], sidecar_path(annotated[0], sidecars))
    preflight.output(Path(out_dir), units[0], [files[0].parent, units[0].parent], is_scores)
    return units, _model(spec, device)


def run_score(
    spec: str,
    inputs: str | Path,
    sidecars: str | Path,
    out_dir: str | Path,
    device: str = "cpu",
    batch_size: int = 64,
    runner: str = "local",
    workers: int = 1,
    ray_opts: dict[str, Any] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Score every shard of `inputs` with its sidecar from `sidecars` into `out_dir`, skipping
    shards already scored by this model. Refuses (`UserError`) before any work what
    cannot succeed; writes and returns the run's stats (`score-stats.json`)."""
    out = Path(out_dir)
    here = runner == "local" and workers <= 1  # else workers load the model, on `device`
    gpu = device.startswith("cuda")
    units, m = check(spec, inputs, sidecars, out, device if here else "cpu", batch_size, workers)

    def summarise(finished, before, seconds):
        counts = {
            k: sum(s[k] for s in finished.values()) for k in ("samples", "scored", "no_record", "unreadable")
        }
        return {
            **counts,
            "shards_total": len(units),
            "shards_done": len(finished),
            "model": spec,
            "seconds": round(seconds, 1),
        }

    try:
        return run_stage(
            "score",
            out,
            units,
            partial(
                _job,
                spec=spec,
                device=device,
                sidecars=str(sidecars),
                out_dir=str(out),
                batch_size=batch_size,
            ),
            summarise,
            # scores under bf16 autocast (GPU) differ from fp32 ones: never resumed into each other
            parts={"model": weights_hash(m), "version": VERSION, **({"autocast": "bf16"} if gpu else {})},
            config={"model": spec, "input": str(inputs), "sidecars": str(sidecars), "batch_size": batch_size},
            output_of=partial(sidecar_path, out_dir=out),
            stamp=partial(stamp, sidecars=Path(sidecars)),
            overwrite=overwrite,
            runner=runner,
            workers=workers,
            ray_opts=ray_opts,
            live=True,
            progress=progress,
            count="samples",
            estimate=estimate_total,
        )
    finally:
        clear_models()
