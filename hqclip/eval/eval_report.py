"""The evaluation report: full results as JSON, one compact Markdown table (a row per model, the
key metric of each task), and bar plots of the same numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

from hqclip.data.atomic import write_text
from hqclip.plots import pyplot, save_png

# (column, path into a model's results)
KEY_METRICS = (
    ("ZS top-1", ("zeroshot", "acc1")),
    ("ZS mean recall", ("zeroshot", "mean_per_class_recall")),
    ("ZS held-out top-1", ("zeroshot", "heldout", "acc1")),
    ("I→T R@1", ("retrieval", "text_retrieval_recall@1")),
    ("T→I R@1", ("retrieval", "image_retrieval_recall@1")),
    ("SugarCrepe", ("sugarcrepe", "mean")),
    ("ARO order", ("aro_order", "acc")),
    ("Winoground group", ("winoground", "group")),
)
# the headline metric of each CLIP_benchmark task
CB_KEY = {
    "zeroshot_classification": "acc1",
    "zeroshot_retrieval": "text_retrieval_recall@1",
    "image_caption_selection": "acc",
}


def metric_at(d: dict, path: tuple) -> float | None:
    """The number at `path` in one model's results, or None where the task was not run."""
    for k in path:
        d = d.get(k) if isinstance(d, dict) else None
    return d if isinstance(d, (int, float)) else None


def summary(results: dict) -> tuple[list[str], dict[str, list[float | None]]]:
    """Columns present for at least one model, and each model's values in that order."""
    cols = list(KEY_METRICS)
    for res in results["models"].values():
        for name, r in res.get("clip_benchmark", {}).items():
            col = (f"CB {name}", ("clip_benchmark", name, CB_KEY[r["task"]]))
            if col not in cols:
                cols.append(col)
    rows = {label: [metric_at(res, path) for _, path in cols] for label, res in results["models"].items()}
    keep = [i for i in range(len(cols)) if any(v[i] is not None for v in rows.values())]
    return [cols[i][0] for i in keep], {label: [v[i] for i in keep] for label, v in rows.items()}


def markdown(results: dict) -> str:
    cols, rows = summary(results)
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, vals in rows.items():
        cells = ["–" if v is None else f"{100 * v:.1f}" for v in vals]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = (
        "\n".join(lines)
        + "\n\nAll numbers in %. Full detail (top-5, R@5/10, per-subset, counts) in results.json.\n"
    )
    counts = results.get("skipped", {}).get("counts")
    if counts:
        text += (
            "Skipped entries: "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + " (named in results.json).\n"
        )
    return text


def bars(path: Path, title: str, cols: list[str], rows: dict[str, list]) -> None:
    plt = pyplot()
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(cols)), 4))
    for j, (label, vals) in enumerate(rows.items()):
        xs = [i + (j - (len(rows) - 1) / 2) * width for i in range(len(cols))]
        ax.bar(xs, [100 * (v or 0) for v in vals], width, label=label)
    ax.set_xticks(range(len(cols)), cols, rotation=20, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def _clean(x):
    """JSON has no NaN: write null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def write_json_markdown(results: dict, out_dir: str | Path, table: str) -> dict[str, Path]:
    """results.json and results.md (`table`) under `out_dir`; the paths, summary.png's included
    (for the caller to draw)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "results.md", "plot": out / "summary.png"}
    write_text(paths["json"], json.dumps(_clean(results), indent=2, allow_nan=False) + "\n")
    write_text(paths["markdown"], table)
    return paths


def write_report(results: dict, out_dir: str | Path) -> dict[str, Path]:
    """results.json, results.md, summary.png (+ sugarcrepe.png per subset) under `out_dir`."""
    out = Path(out_dir)
    paths = write_json_markdown(results, out, markdown(results))
    cols, rows = summary(results)
    bars(paths["plot"], "hqclip eval", cols, rows)
    subsets = sorted({k for r in results["models"].values() for k in r.get("sugarcrepe", {}) if k != "mean"})
    if subsets:
        paths["sugarcrepe"] = out / "sugarcrepe.png"
        bars(
            paths["sugarcrepe"],
            "SugarCrepe (image→text accuracy)",
            subsets,
            {
                label: [metric_at(r, ("sugarcrepe", s, "acc")) for s in subsets]
                for label, r in results["models"].items()
            },
        )
    return paths
