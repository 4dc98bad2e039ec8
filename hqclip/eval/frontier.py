"""The WiSE-FT frontier: each α's checkpoint evaluated with eval's own code, one model at a time
(so memory holds one model, not all of them), reported as eval reports (results.json,
results.md, summary.png) plus frontier.png: zero-shot top-1 against retrieval and SugarCrepe,
one point per α."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hqclip.clip.load import ModelSpec
from hqclip.eval.eval_report import KEY_METRICS, metric_at, write_report
from hqclip.eval.evaluation import evaluate
from hqclip.plots import pyplot, save_png

_PATHS = dict(KEY_METRICS)
X = "ZS top-1"
YS = ("I→T R@1", "T→I R@1", "SugarCrepe")


def label(alpha: float) -> str:
    return f"α={alpha:g}"


def evaluate_alphas(
    name: str, checkpoints: dict[float, Path], data: Path, out: Path, meta: dict[str, Any], **eval_kw: Any
) -> dict:
    """Evaluate every α's checkpoint on the eval folder `data`; write the reports under `out`."""
    results: dict = {}
    for alpha, path in checkpoints.items():
        one = evaluate([ModelSpec(label(alpha), name, str(path))], data, None, **eval_kw)
        if not results:
            results = {**one, "models": {}}
        results["models"].update(one["models"])
    results["wise_ft"] = {**meta, "alphas": {label(a): a for a in checkpoints}}
    write_report(results, out)
    plot_frontier(results, out / "frontier.png")
    return results


def plot_frontier(results: dict, path: Path) -> None:
    """One panel per measured metric: retrieval and SugarCrepe against zero-shot top-1, the points
    joined in α order and labelled (against α itself where the data has no zero-shot split)."""
    alphas = results["wise_ft"]["alphas"]

    def measured(column: str) -> list[float] | None:
        vals = [metric_at(results["models"][m], _PATHS[column]) for m in alphas]
        return None if any(v is None for v in vals) else [100 * v for v in vals]

    xs, xlabel, ys = measured(X), f"{X} (%)", YS
    if xs is None:
        xs, xlabel, ys = list(alphas.values()), "α", (X, *YS)
    panels = [(y, vals) for y in ys if (vals := measured(y)) is not None]
    plt = pyplot()
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.5 * max(1, len(panels)), 4), squeeze=False)
    for ax, (ylabel, vals) in zip(axes[0], panels):
        ax.plot(xs, vals, "o-")
        for m, x, y in zip(alphas, xs, vals):
            ax.annotate(m, (x, y), textcoords="offset points", xytext=(4, 4), fontsize="small")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{ylabel} (%)")
        ax.grid(alpha=0.3)
    if not panels:
        axes[0][0].text(0.5, 0.5, "no zero-shot, retrieval or SugarCrepe split", ha="center")
    fig.suptitle("WiSE-FT: zero-shot (α = 0) to fine-tuned (α = 1)")
    fig.tight_layout()
    save_png(fig, path)
