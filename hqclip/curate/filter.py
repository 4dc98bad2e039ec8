"""`hqclip filter`: rules a user states drop what the scorer doubts, and the output is ordinary
sidecars that `hqclip train` reads (same schema, a vocab.json beside them) plus a drop log.

Rules (`Rules`), each optional: a description sentence goes, with its aligned negative, when its
margin (score − its negative's score) is below `min_margin`, or its score below `min_score` or in
the bottom `drop_bottom_pct` % of all sentence scores (a threshold found by one pass over the
scores, `thresholds`); a sample goes (DFN-style) when its alt-text and every description sentence
score below `min_sample_score`. A record left with no sentence, and a dropped sample, become
`invalid` rows with the reason `filtered:<rule>`: training then has no annotation for them, as for
any invalid row. Tags are kept as they are.

Each sidecar is one unit on the per-unit runner (`hqclip.units`) with its exactly-once machinery:
the filtered sidecar and its drop log (`drops/<shard>.parquet`: uid, key, what, index, text,
negative, why, score, margin) are written atomically, then the done marker."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hqclip.curate import preflight
from hqclip.curate.score_format import read_scores
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import read_annotations, read_sidecar, write_sidecar
from hqclip.data.vocab import write_vocab
from hqclip.errors import UserError
from hqclip.progress import bar
from hqclip.units import resume
from hqclip.units.run import run_units
from hqclip.units.stage import manifest_name, run_stage

log = logging.getLogger("hqclip.curate")

DROPS = "drops"
DROP_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("key", pa.string()),
        ("what", pa.string()),  # sentence | sample
        ("index", pa.int32()),  # the sentence's index in the input record (null for a sample)
        ("text", pa.string()),
        ("negative", pa.string()),
        ("why", pa.string()),  # the rule: min_margin | min_score | min_sample_score | no_sentence_left
        ("score", pa.float32()),
        ("margin", pa.float32()),
    ]
)
# a score histogram for the percentile rules: cosine similarities in [-1, 1], 2^16 bins
EDGES = np.linspace(-1.0, 1.0, (1 << 16) + 1)


@dataclass(frozen=True)
class Rules:
    min_margin: float | None = None
    min_score: float | None = None
    drop_bottom_pct: float | None = None
    min_sample_score: float | None = None

    def check(self) -> None:
        if all(v is None for v in dataclasses.asdict(self).values()):
            raise UserError(
                "no rule given: pass --min-margin, --min-score, --drop-bottom-pct and/or --min-sample-score"
            )
        if self.drop_bottom_pct is not None and not 0 < self.drop_bottom_pct < 100:
            raise UserError(f"--drop-bottom-pct {self.drop_bottom_pct}: a percentage between 0 and 100")


def _histogram(path: str) -> dict[str, Any]:
    """Counts of one score sidecar's sentence scores over EDGES."""
    rows = read_scores(path, ["desc"])
    vals = np.array([v for r in rows for v in (r["desc"] or ())], np.float64)
    return {"counts": np.histogram(np.clip(vals, -1, 1), EDGES)[0]}


def thresholds(rules: Rules, score_files: list[Path], workers: int = 1, progress: bool = True) -> Rules:
    """`rules` with `drop_bottom_pct` turned into the score below which that share of all
    sentences lies (exact to the bin width, 3e-5; memory independent of the data's size)."""
    if rules.drop_bottom_pct is None:
        return rules
    shown = bar(total=len(score_files), desc="score percentiles", unit="shard", disable=not progress)
    total = np.zeros(len(EDGES) - 1, np.int64)

    def add(unit: str, out: dict[str, Any]) -> None:
        nonlocal total
        total += out["counts"]
        shown.update(1)

    try:
        run_units([str(p) for p in score_files], _histogram, workers=workers, on_done=add, collect=False)
    finally:
        shown.close()
    below = np.cumsum(total) <= rules.drop_bottom_pct / 100 * total.sum()
    cut = float(EDGES[int(below.sum())])  # dropping scores < cut drops at most the asked share
    return dataclasses.replace(rules, min_score=cut if rules.min_score is None else max(cut, rules.min_score))


def judge(sc: dict, rules: Rules) -> tuple[list[int], list[tuple[str, int | None, float | None]]]:
    """(kept sentence indices, [(rule, sentence index or None for the sample, score)]) for one
    scored record."""
    if rules.min_sample_score is not None:
        best = max([*sc["desc"], *([sc["alt"]] if sc["alt"] is not None else [])])
        if best < rules.min_sample_score:
            return [], [("min_sample_score", None, best)]
    keep, why = [], []
    for i, (score, margin) in enumerate(zip(sc["desc"], sc["margin"])):
        if rules.min_margin is not None and margin < rules.min_margin:
            why.append(("min_margin", i, score))
        elif rules.min_score is not None and score < rules.min_score:
            why.append(("min_score", i, score))
        else:
            keep.append(i)
    if not keep:
        why.append(("no_sentence_left", None, None))
    return keep, why


def filter_shard(
    unit: str | Path, scores_dir: str | Path, out_dir: str | Path, rules: Rules, fp: str
) -> dict[str, Any]:
    """Filter one sidecar by its score sidecar into `<out_dir>/<name>` and its drop log."""
    sidecar, out_dir = Path(unit), Path(out_dir)
    scores_file = Path(scores_dir) / sidecar.name
    out = out_dir / sidecar.name
    before = stamp(sidecar, Path(scores_dir))
    resume.mark_running(out)
    records = read_annotations(sidecar, SkipLog())
    scored = {}
    for row in read_scores(scores_file):
        preflight.mismatch(records, row, sidecar, scores_file)
        scored[row["uid"]] = row
    rows, drops = read_sidecar(sidecar), []
    stats = {
        "rows": len(rows),
        "records_in": 0,
        "records_out": 0,
        "unscored": 0,
        "sentences_in": 0,
        "sentences_out": 0,
        "why": {},
    }
    for row in rows:
        rec, sc = records.get(row["uid"]), scored.get(row["uid"])
        if row["status"] != "ok" or rec is None:
            continue
        stats["records_in"] += 1
        stats["sentences_in"] += len(rec["desc"])
        if sc is not None and sc["desc"] is None:  # e.g. its image was unreadable: kept as it is
            sc = None
        keep, why = (list(range(len(rec["desc"]))), []) if sc is None else judge(sc, rules)
        stats["unscored"] += sc is None
        for rule, i, score in why:
            stats["why"][rule] = stats["why"].get(rule, 0) + 1
            drops.append(
                {
                    "uid": row["uid"],
                    "key": row["key"],
                    "why": rule,
                    "score": score,
                    **(
                        {"what": "sample"}
                        if i is None
                        else {
                            "what": "sentence",
                            "index": i,
                            "text": rec["desc"][i],
                            "negative": rec["neg_desc"][i],
                            "margin": sc["margin"][i],
                        }
                    ),
                }
            )
        if not keep:
            row.update(status="invalid", reason=f"filtered:{why[-1][0]}")
            continue
        row["desc"] = [row["desc"][i] for i in keep]
        row["neg_desc"] = [row["neg_desc"][i] for i in keep]
        stats["records_out"] += 1
        stats["sentences_out"] += len(keep)
    write_sidecar(out_dir / DROPS / sidecar.name, drops, {"fingerprint": fp}, schema=DROP_SCHEMA)
    write_sidecar(
        out, rows, {"fingerprint": fp, "filtered_from": str(sidecar), "rules": dataclasses.asdict(rules)}
    )
    resume.mark_done(out, fp, stats, before)
    return stats


def stamp(sidecar: Path, scores_dir: Path) -> dict[str, Any]:
    return {"sidecar": resume.input_stamp(sidecar), "scores": resume.input_stamp(scores_dir / sidecar.name)}


def _sum(stats: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"why": {}}
    for s in stats:
        for k, v in s.items():
            if k == "why":
                for rule, n in v.items():
                    out["why"][rule] = out["why"].get(rule, 0) + n
            else:
                out[k] = out.get(k, 0) + v
    return out


def run_filter(
    sidecars: str | Path,
    scores: str | Path,
    out_dir: str | Path,
    rules: Rules,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Filter every sidecar of `sidecars` by its scores into `out_dir` (resumable), then write
    vocab.json and filter-stats.json there; refuses (`UserError`) before any work."""
    rules.check()
    files = preflight.sidecars(sidecars)
    pairs = preflight.scores(files, scores)
    out = Path(out_dir)
    preflight.output(
        out,
        files[0],
        [files[0].parent, next(iter(pairs.values())).parent],
        lambda p: (p.parent / manifest_name("filter")).exists(),
    )
    resolved = thresholds(rules, list(pairs.values()), workers, progress)

    def summarise(finished, before, seconds):
        return {
            **_sum(list(finished.values())),
            "rules": dataclasses.asdict(resolved),
            "sidecars": len(files),
        }

    stats = run_stage(
        "filter",
        out,
        files,
        partial(filter_shard, scores_dir=str(scores), out_dir=str(out), rules=resolved),
        summarise,
        parts={"rules": dataclasses.asdict(resolved)},
        config={"sidecars": str(sidecars), "scores": str(scores), "asked": dataclasses.asdict(rules)},
        output_of=lambda p: out / p.name,
        stamp=partial(stamp, scores_dir=Path(scores)),
        overwrite=overwrite,
        workers=workers,
        progress=progress,
    )
    write_vocab(out, workers=workers, progress=progress)
    return stats
