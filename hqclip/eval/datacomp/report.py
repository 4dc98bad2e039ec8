"""The suite's report: results.json (every metric), results.md (models side by side: each task's
main metric, then the five aggregates) and summary.png (the aggregates)."""

from __future__ import annotations

from pathlib import Path

from hqclip.eval.datacomp.aggregate import AGGREGATES
from hqclip.eval.datacomp.tasks import BY_KEY
from hqclip.eval.eval_report import bars, write_json_markdown


def _cell(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def markdown(results: dict) -> str:
    labels = list(results["models"])
    models = results["models"].values()
    lines = ["| task | metric | " + " | ".join(labels) + " |", "|---|---" + "|---" * len(labels) + "|"]
    for key in results["tasks"]:
        t = BY_KEY[key]
        vals = [m["tasks"][t.name]["main_metric"] for m in models]
        lines.append(f"| {t.name} | {t.metric or '(not averaged)'} | " + " | ".join(map(_cell, vals)) + " |")
    for agg in AGGREGATES:
        vals = [m["aggregates"][agg] for m in models]
        lines.append(f"| **{agg}** | | " + " | ".join(f"**{_cell(v)}**" for v in vals) + " |")
    text = (
        "\n".join(lines) + "\n\nDataComp main metrics in %. Full detail in results.json; per model, "
        "eval_results.jsonl in DataComp's own format.\n"
    )
    partial = {
        label: m["aggregates"]["n_tasks"]
        for label, m in results["models"].items()
        if not m["aggregates"]["complete"]
    }
    if partial:
        text += (
            f"\n**Partial run** ({', '.join(f'{k}: {v}' for k, v in partial.items())} of 38 averaged tasks): "
            f"the aggregates are over the tasks run and are not comparable with published DataComp scores.\n"
        )
    return text


def write_report(results: dict, out_dir: str | Path) -> dict[str, Path]:
    paths = write_json_markdown(results, out_dir, markdown(results))
    complete = all(m["aggregates"]["complete"] for m in results["models"].values())
    bars(
        paths["plot"],
        "DataComp suite" + ("" if complete else " (partial: not comparable)"),
        list(AGGREGATES),
        {label: [m["aggregates"][a] for a in AGGREGATES] for label, m in results["models"].items()},
    )
    return paths
