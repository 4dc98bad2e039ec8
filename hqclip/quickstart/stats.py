"""The quickstart's statistics: each model's key metrics, grouped by row over seeds, their mean ±
std, and the gain of one row over another. The report and the cycle's table both use them."""

from __future__ import annotations

import statistics

from hqclip.eval.eval_report import KEY_METRICS, metric_at
from hqclip.world.splits import SUBSETS


def metrics(res: dict, subsets: tuple[str, ...] = SUBSETS) -> dict[str, float | None]:
    """The key metrics of one model's results; "SugarCrepe" is the mean over `subsets`."""
    out = {name: metric_at(res, path) for name, path in KEY_METRICS}
    i2t, t2i = out.get("I→T R@1"), out.get("T→I R@1")
    out["retrieval R@1"] = None if i2t is None or t2i is None else (i2t + t2i) / 2
    accs = {s: metric_at(res, ("sugarcrepe", s, "acc")) for s in SUBSETS}
    out.update(accs)
    chosen = [accs[s] for s in subsets if accs[s] is not None]
    out["SugarCrepe"] = sum(chosen) / len(chosen) if chosen else None
    return out


def aggregate(
    runs: list[dict], results: dict, subsets: tuple[str, ...] = SUBSETS
) -> dict[tuple[str, float], dict[str, list[float]]]:
    """(row, error) -> metric -> values over seeds."""
    groups: dict[tuple[str, float], dict[str, list[float]]] = {}
    for r in runs:
        m = metrics(results["models"][r["label"]], subsets)
        g = groups.setdefault((r["variant"], r["error"]), {})
        for k, v in m.items():
            if v is not None:
                g.setdefault(k, []).append(v)
    return groups


def mean_std(vals: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 with one value)."""
    return statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def gain(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of b − mean of a, and the larger of the two seed spreads (0 with one seed)."""
    return mean_std(b)[0] - mean_std(a)[0], max(mean_std(a)[1], mean_std(b)[1])


def cell(vals: list[float] | None) -> str:
    """A table cell in %: "mean ± std" over seeds, the value alone with one seed, "–" without."""
    if not vals:
        return "–"
    m, s = mean_std(vals)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(vals) > 1 else f"{100 * m:.1f}"
