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
    """One panel per metric that was measured: that metric against zero-shot top-1 (against α
    where the data has no zero-shot split), the points joined in α order and labelled."""
    alphas = results["wise_ft"]["alphas"]
    models = results["models"]
    xs = [metric_at(models[m], _PATHS[X]) for m in alphas]
    by_alpha = any(x is None for x in xs)
    if by_alpha:
        xs = list(alphas.values())
    panels = [(y, [metric_at(models[m], _PATHS[y]) for m in alphas]) for y in YS]
    panels = [(y, v) for y, v in panels if all(x is not None for x in v)] or [(X, xs)]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4), squeeze=False)
    for ax, (ylabel, ys) in zip(axes[0], panels):
        scale = 1 if by_alpha else 100
        ax.plot([scale * x for x in xs], [100 * y for y in ys], "o-")
        for m, x, y in zip(alphas, xs, ys):
            ax.annotate(m, (scale * x, 100 * y), textcoords="offset points", xytext=(4, 4), fontsize="small")
        ax.set_xlabel("α" if by_alpha else f"{X} (%)")
        ax.set_ylabel(f"{ylabel} (%)")
        ax.grid(alpha=0.3)
    fig.suptitle("WiSE-FT: zero-shot (α = 0) to fine-tuned (α = 1)")
    fig.tight_layout()
    save_png(fig, path)
