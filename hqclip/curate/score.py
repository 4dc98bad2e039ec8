"""`hqclip score`: a trained CLIP scores each sample of refined data — the image against its
alt-text, each description sentence and its aligned negative, each tag and negative tag — into a
score sidecar per shard (`hqclip.curate.score_format`).

The per-shard function runs on refine's runner (`run_units`: in process, forked workers or Ray
tasks) with refine's exactly-once machinery (`hqclip.refine.resume`): the score sidecar is written
atomically, then its done marker, which records the fingerprint (the model's weights, transform
and tokenizer: another model never resumes into old scores) and the stamps of the shard and its
sidecar (a re-refined sidecar is scored again). Models load as `hqclip eval` loads them
(`hqclip.clip.load`) and embed through eval's code (`hqclip.eval.embed.encode_images` /
`encode_texts`)."""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hqclip.clip.load import Loaded, ModelSpec, load, weights_hash
from hqclip.curate import preflight
from hqclip.curate.score_format import SCORE_FIELDS, is_scores, write_scores
from hqclip.data.atomic import write_text
from hqclip.data.samples import BadSample, SkipLog, decode_image
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.errors import UserError
from hqclip.eval.embed import encode_images, encode_texts
from hqclip.progress import bar
from hqclip.refine import resume
from hqclip.refine.runners import estimate_total, resolve_inputs, run_units

log = logging.getLogger("hqclip.curate")

VERSION = 1  # bumped whenever the same model and data would give different scores
MANIFEST = "score-run.json"
STATS = "score-stats.json"
_models: dict[tuple[str, str, str], Loaded] = {}  # a worker's model, reused by its next shards


def stamp(unit: Path, sidecars: Path) -> dict[str, Any]:
    """What a rerun compares: the shard and its sidecar, as they were when the shard was scored."""
    return {"shard": resume.input_stamp(unit),
            "sidecar": resume.input_stamp(sidecar_path(unit, sidecars))}


def _texts(alt: str, rec: dict | None) -> tuple[list[str], list[tuple[str, int, int]]]:
    """The texts to score for one sample and the (field, start, end) span of each field."""
    texts, spans = [], []
    fields = [("alt", [alt])] if alt.strip() else []  # an empty alt-text gets no score
    for f, items in fields + [(f, rec[f]) for f in SCORE_FIELDS if rec is not None]:
        spans.append((f, len(texts), len(texts) + len(items)))
        texts += items
    return texts, spans


def _score_batch(m: Loaded, batch: list[tuple[Any, Any, dict | None]], text_batch: int
                 ) -> list[dict[str, Any]]:
    """Rows for (sample, preprocessed image, record or None) triples: one image forward, one text
    forward over every text of the batch."""
    import torch

    images = encode_images(m, torch.stack([x for _, x, _ in batch]))
    texts, owner, spans = [], [], []
    for i, (s, _, rec) in enumerate(batch):
        t, sp = _texts(s.text, rec)
        spans.append([(f, a + len(texts), b + len(texts)) for f, a, b in sp])
        texts += t
        owner += [i] * len(t)
    sims = (np.einsum("nd,nd->n", encode_texts(m, m.tokenizer(texts), max(text_batch, 512)),
                      images[owner]) if texts else np.zeros(0, np.float32))
    rows = []
    for (s, _, rec), sp in zip(batch, spans):
        row: dict[str, Any] = {"uid": s.uid, "key": s.key, "status": "no_record" if rec is None else "ok",
                               "alt": None}
        for f, a, b in sp:
            vals = [round(float(v), 6) for v in sims[a:b]]
            row[f] = vals[0] if f == "alt" else vals
        if rec is not None:
            row["margin"] = [p - n for p, n in zip(row["desc"], row["neg_desc"])]
        rows.append(row)
    return rows


def score_shard(unit: str | Path, sidecars: str | Path, out_dir: str | Path, m: Loaded, fp: str,
                batch_size: int = 64, progress: Callable[[int], None] | None = None
                ) -> dict[str, Any]:
    """Score every sample of one shard (or caption table) into `<out_dir>/<stem>.parquet` + done
    marker; returns its stats. Each sample the reader yields gets one row: an unreadable image is
    `input:<reason>` with no score, a sample without a valid record gets its alt-text scored."""
    from hqclip.refine.pipeline import iter_unit

    start = time.perf_counter()
    unit, sidecars, out_dir = Path(unit), Path(sidecars), Path(out_dir)
    out = sidecar_path(unit, out_dir)
    before = stamp(unit, sidecars)
    resume.mark_running(out)
    skips = SkipLog()
    records = read_annotations(sidecar_path(unit, sidecars), skips)
    rows: list[dict[str, Any] | None] = []
    batch: list[tuple[int, tuple]] = []

    def flush() -> None:
        for (i, _), row in zip(batch, _score_batch(m, [b for _, b in batch], batch_size)):
            rows[i] = row
        if progress:
            progress(len(batch))
        batch.clear()

    for s in iter_unit(unit, skips):
        try:
            x = m.preprocess(decode_image(s.image_bytes))
        except BadSample as e:
            rows.append({"uid": s.uid, "key": s.key, "status": f"input:{e.reason}"})
            log.warning("%s: sample %s not scored (%s)", unit, s.key, e.reason)
            if progress:
                progress(1)
            continue
        rows.append(None)
        batch.append((len(rows) - 1, (s, x, records.get(s.uid))))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    done = [r for r in rows if r is not None]
    status = [r["status"] for r in done]
    stats = {"samples": len(done), "scored": status.count("ok"),
             "no_record": status.count("no_record"),
             "unreadable": sum(s.startswith("input:") for s in status),
             "skipped": skips.as_dict(), "seconds": round(time.perf_counter() - start, 3)}
    write_scores(out, done, {"fingerprint": fp, "model": m.spec})
    resume.mark_done(out, fp, stats, before)
    return stats


def _model(spec: str, device: str, fp: str) -> Loaded:
    """The run's model in this worker: keyed by the run's fingerprint (which covers the weights), so
    a Ray worker kept from an earlier run never scores with a checkpoint since rewritten, and holds
    one model only."""
    key = (spec, device, fp)
    if key not in _models:
        _models.clear()
        _models[key] = load(ModelSpec.parse(spec), device)
    return _models[key]


def _job(unit: str, spec: str, device: str, sidecars: str, out_dir: str, fp: str,
         batch_size: int) -> dict[str, Any]:
    """One shard in a worker process or Ray task, which loads the model once."""
    return score_shard(unit, sidecars, out_dir, _model(spec, device, fp), fp, batch_size)


def check(spec: str, inputs: str | Path, sidecars: str | Path, out_dir: str | Path, device: str,
          batch_size: int, workers: int) -> tuple[list[Path], Loaded]:
    """The units to score and the loaded model, or `UserError` before any work."""
    if batch_size < 1 or workers < 1:
        raise UserError(f"--batch-size {batch_size} and --workers {workers}: each must be "
                        f"at least 1")
    units = resolve_inputs(inputs)
    files = preflight.sidecars(sidecars)
    annotated = [u for u in units if sidecar_path(u, sidecars).exists()]
    if not annotated:
        raise UserError(
            f"--sidecars {sidecars}: no sidecar for any of the {len(units)} shards of --input "
            f"{inputs} (e.g. {sidecar_path(units[0], sidecars).name}); pass the --output of "
            f"`hqclip refine` made from these shards")
    if len(annotated) < len(units):
        log.warning("%d of %d shards have no sidecar in %s; their samples get only the alt-text "
                    "scored", len(units) - len(annotated), len(units), sidecars)
    preflight.overlap(annotated[0], sidecar_path(annotated[0], sidecars))
    preflight.output(Path(out_dir), units[0], [files[0].parent, units[0].parent], is_scores)
    return units, load(ModelSpec.parse(spec), device)


def run_score(spec: str, inputs: str | Path, sidecars: str | Path, out_dir: str | Path,
              device: str = "cpu", batch_size: int = 64, runner: str = "local", workers: int = 1,
              ray_opts: dict[str, Any] | None = None, overwrite: bool = False,
              progress: bool = True) -> dict[str, Any]:
    """Score every shard of `inputs` with its sidecar from `sidecars` into `out_dir`, skipping
    shards already scored by this model. Refuses (`UserError`) before any work what
    cannot succeed; writes and returns the run's stats (`score-stats.json`)."""
    out = Path(out_dir)
    here = runner == "local" and workers <= 1  # else workers load the model, on `device`
    units, m = check(spec, inputs, sidecars, out, device if here else "cpu", batch_size, workers)
    fp = resume.prepare(out, {"model": weights_hash(m), "version": VERSION},
                        {"model": spec, "input": str(inputs), "sidecars": str(sidecars),
                         "batch_size": batch_size}, overwrite, MANIFEST)
    todo, done = resume.plan(units, partial(sidecar_path, out_dir=out), fp, overwrite,
                             partial(stamp, sidecars=Path(sidecars)))
    log.info("%d shards: %d already scored, %d to score (fingerprint %s)",
             len(units), len(done), len(todo), fp)
    shown = bar(total=estimate_total(todo) if progress else None, desc="score", unit="sample",
                disable=not progress)
    start = time.perf_counter()
    try:
        if here:  # the model the check loaded, progress per batch
            run_units(todo, partial(score_shard, sidecars=sidecars, out_dir=out, m=m, fp=fp,
                                    batch_size=batch_size, progress=shown.update), collect=False)
        else:  # each worker loads its own model on its device
            run_units(todo, partial(_job, spec=spec, device=device, sidecars=str(sidecars),
                                    out_dir=str(out), fp=fp, batch_size=batch_size),
                      runner, workers, ray_opts, lambda unit, s: shown.update(s["samples"]),
                      collect=False, start="spawn")  # the preflight ran the model here
    finally:
        shown.close()
        finished = [d["stats"] for u in units
                    if (d := resume.read_done(sidecar_path(u, out))) and d.get("fingerprint") == fp]
        stats = {k: sum(s[k] for s in finished) for k in ("samples", "scored", "no_record",
                                                          "unreadable")}
        stats.update(shards_total=len(units), shards_done=len(finished), fingerprint=fp,
                     model=spec, seconds=round(time.perf_counter() - start, 1))
        write_text(out / STATS, json.dumps(stats, indent=1, sort_keys=True))
    return stats
