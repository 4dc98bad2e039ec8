"""DataComp's aggregates (`aggregate_scores.py`): ImageNet, ImageNet distribution shifts (6), VTAB
(13), Retrieval (3) and the plain mean over the 38 counted main metrics. Over fewer tasks the
numbers are marked partial: they are not comparable with published ones."""

from __future__ import annotations

import math

from hqclip.eval.datacomp.tasks import COUNTED, GROUPS

AVERAGE = "Average"
AGGREGATES = (*GROUPS, AVERAGE)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(scores: dict[str, float | None]) -> dict:
    """`scores`: display name -> main metric (fractions). Each aggregate over the counted tasks
    present; `complete` when all 38 are there, `n_tasks` how many were."""
    have = {
        t: scores[t.name]
        for t in COUNTED
        if scores.get(t.name) is not None and not math.isnan(scores[t.name])
    }
    out: dict = {g: _mean([v for t, v in have.items() if t.group == g]) for g in GROUPS}
    out[AVERAGE] = _mean(list(have.values()))
    out["n_tasks"] = len(have)
    out["complete"] = len(have) == len(COUNTED)
    return out
