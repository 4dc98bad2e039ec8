"""The compare report's files: compare.json, compare.md (tables) and compare.png (agreement bars
and each side's edit kinds), written atomically like every hqclip report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.distill.compare import SIDES, TAGS
from hqclip.schema.worddiff import EDIT_CLASSES


def _f(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(res: dict[str, Any]) -> str:
    ref, cand = res["folders"]["reference"], res["folders"]["candidate"]
    lines = [
        f"# Annotation agreement: {cand} (candidate) against {ref} (reference)",
        "",
        f"{res['samples']} samples in both; {res['both_valid']} valid in both "
        f"(the agreement rows below); {res['unmatched_samples']} samples only in one.",
        "",
        "| | reference | candidate |",
        "|---|---|---|",
        *(
            f"| {label} | {_f(res['reference'][k], 2)} | {_f(res['candidate'][k], 2)} |"
            for label, k in (
                ("valid %", "valid_pct"),
                ("sentences per record", "sentences_per_record"),
                ("tags per record", "tags_per_record"),
            )
        ),
    ]
    reasons = sorted({*res["reference"]["invalid_reasons"], *res["candidate"]["invalid_reasons"]})
    if reasons:
        lines += ["", "| invalid reason | reference | candidate |", "|---|---|---|"]
        lines += [
            f"| {r} | {res['reference']['invalid_reasons'].get(r, 0)} | "
            f"{res['candidate']['invalid_reasons'].get(r, 0)} |"
            for r in reasons
        ]
    lines += ["", "| agreement | precision | recall | F1 (micro) | F1 (macro) |", "|---|---|---|---|---|"]
    lines += [
        f"| {f} | {_f(res[f]['precision'])} | {_f(res[f]['recall'])} | {_f(res[f]['f1'])} | "
        f"{_f(res[f]['macro_f1'])} |"
        for f in TAGS
    ]
    d = res["description"]
    lines += ["", "| description | value |", "|---|---|", f"| ROUGE-L F1 | {_f(d['rouge_l'])} |"]
    lines.append(f"| BLEU | {_f(d['bleu'], 2)} |")
    if "clip_cosine" in d:
        lines.append(f"| CLIP text cosine ({d['clip_model']}) | {_f(d['clip_cosine'])} |")
    for what in ("desc", "tags"):
        kinds = _kinds(res, what)
        title = "description negatives" if what == "desc" else "tag negatives"
        lines += ["", f"| edit: {title} | reference % | candidate % |", "|---|---|---|"]
        for k in kinds:
            lines.append(
                f"| {k} | {_f(_share(res['reference'], what, k), 1)} | "
                f"{_f(_share(res['candidate'], what, k), 1)} |"
            )
    return "\n".join(lines) + "\n"


def _kinds(res: dict[str, Any], what: str) -> list[str]:
    """The edit kinds either side's negatives of `what` (desc or tags) make, in EDIT_CLASSES order."""
    return [k for k in EDIT_CLASSES if any(res[s]["edits"][what].get(k) for s in SIDES)]


def _share(side: dict[str, Any], what: str, kind: str) -> float | None:
    """The % of a side's negative pairs of `what` whose edit is `kind`; None when it has none."""
    counts = side["edits"][what]
    n = sum(counts.values())
    return 100 * counts.get(kind, 0) / n if n else None


def _plot(res: dict[str, Any], path: Path) -> None:
    import numpy as np

    from hqclip.plots import pyplot, save_png

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
    d = res["description"]
    bars = {
        "valid (ref)": res["reference"]["valid_pct"] or 0,
        "valid (cand)": res["candidate"]["valid_pct"] or 0,
        "tag F1": 100 * res["tags"]["f1"],
        "neg-tag F1": 100 * res["neg_tags"]["f1"],
        "ROUGE-L": 100 * (d["rouge_l"] or 0),
        "BLEU": d["bleu"] or 0,
        **({"CLIP cos": 100 * (d["clip_cosine"] or 0)} if "clip_cosine" in d else {}),
    }
    axes[0].barh(list(bars)[::-1], list(bars.values())[::-1])
    axes[0].set_xlim(0, 100)
    axes[0].set_title("agreement (%, BLEU 0–100)", fontsize="medium")
    for ax, what in zip(axes[1:], ("desc", "tags")):
        kinds = _kinds(res, what)
        y = np.arange(len(kinds))
        for i, s in enumerate(SIDES):
            ax.barh(y + 0.4 * i, [_share(res[s], what, k) or 0 for k in kinds], height=0.4, label=s)
        ax.set_yticks(y + 0.2, kinds)
        ax.invert_yaxis()
        ax.set_title(f"negatives' edits: {what} (% of pairs)", fontsize="medium")
        ax.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def write_compare(res: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "compare.json", "markdown": out / "compare.md", "png": out / "compare.png"}
    write_text(paths["json"], json.dumps(res, indent=1, allow_nan=False) + "\n")
    write_text(paths["markdown"], markdown(res))
    _plot(res, paths["png"])
    return paths
