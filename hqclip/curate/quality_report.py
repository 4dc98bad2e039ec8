"""`hqclip report`: the quality of a refined dataset, from its sidecars alone (and its scores and
shards when given): valid %, invalid reasons, attempts, tokens in/out, sentence and tag counts and
lengths, the most frequent tags, vocabulary sizes, the kind of edit each negative makes (a word
diff of the aligned pair, `hqclip.schema.worddiff`; the world's fine kinds on request), score and margin
histograms, and a page of random samples (`hqclip.curate.html`). Written as report.json,
report.md, PNG plots and samples.html, like `hqclip eval`.

Each sidecar is summarised on its own (refine's runner, `--workers` processes) into counts over
small fixed ranges and histograms over fixed bins, so memory does not grow with the dataset; tags
and words, whose number does, are counted by DuckDB with spilling (`hqclip.data.vocab`). The
sample page shows the N rows with the smallest hash of (seed, uid): a uniform random choice that
each shard makes alone."""

from __future__ import annotations

import hashlib
import heapq
import json
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from hqclip.curate import preflight
from hqclip.curate.score_format import read_scores
from hqclip.data.atomic import write_text
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import annotations, read_sidecar
from hqclip.data.vocab import top_counts, write_counts
from hqclip.progress import bar
from hqclip.schema.worddiff import EDIT_CLASSES, edit_class, words
from hqclip.units.run import run_units
from hqclip.world.kinds import edit_kind

EDGES = np.linspace(-1.0, 1.0, 201)  # scores and margins, bins of 0.01 (margins clipped to ±1)
HISTS = ("alt", "desc", "neg_desc", "margin", "tags", "tag_margin")
COUNTERS = (
    "status",
    "reasons",
    "attempts",
    "desc_per_record",
    "tags_per_record",
    "desc_words",
    "tag_words",
    "desc_edits",
    "tag_edits",
    "world_kinds",
)


def _rank(seed: int, uid: str) -> str:
    return hashlib.blake2b(f"{seed}:{uid}".encode(), digest_size=8).hexdigest()


def _summarise(
    path: str, scores: dict[str, str], tmp: str, samples: int, seed: int, world_kinds: bool = False
) -> dict[str, Any]:
    """One sidecar (and its score sidecar, if any) → counters, histograms, candidate samples."""
    sidecar = Path(path)
    rows = read_sidecar(sidecar)
    records = annotations(rows, sidecar, SkipLog())
    c = {k: Counter() for k in COUNTERS}
    tokens = {"in": [0, 0], "out": [0, 0]}
    tags, neg_tags, vocab = Counter(), Counter(), Counter()
    for row in rows:
        c["status"][row["status"]] += 1
        if row["status"] != "ok":
            c["reasons"][row["reason"]] += 1
        if row.get("attempts") is not None:
            c["attempts"][row["attempts"]] += 1
        for k in ("in", "out"):
            if row.get(f"tokens_{k}") is not None:
                tokens[k][0] += row[f"tokens_{k}"]
                tokens[k][1] += 1
    for rec in records.values():
        c["desc_per_record"][len(rec["desc"])] += 1
        c["tags_per_record"][len(rec["tags"])] += 1
        for p, n in zip(rec["desc"], rec["neg_desc"]):
            c["desc_words"][len(words(p))] += 1
            c["desc_edits"][edit_class(p, n)] += 1
            if world_kinds:
                c["world_kinds"][edit_kind(p, n) or "none"] += 1
            vocab.update(words(p) + words(n))
        for t, n in zip(rec["tags"], rec["neg_tags"]):
            c["tag_words"][len(words(t))] += 1
            c["tag_edits"][edit_class(t, n)] += 1
            tags[t] += 1
            neg_tags[n] += 1
    for name, counts in (("tags", tags), ("neg_tags", neg_tags), ("words", vocab)):
        write_counts(counts, Path(tmp) / name / sidecar.name)
    vals: dict[str, list[float]] = {k: [] for k in HISTS}
    score_rows = {}
    if sidecar.name in scores:
        for r in read_scores(scores[sidecar.name]):
            score_rows[r["uid"]] = r
            if r["alt"] is not None:
                vals["alt"].append(r["alt"])
            for k in ("desc", "neg_desc", "margin", "tags"):
                vals[k] += r[k] or ()
            vals["tag_margin"] += [p - n for p, n in zip(r["tags"] or (), r["neg_tags"] or ())]
    hists = {k: np.histogram(np.clip(v, -1, 1), EDGES)[0] for k, v in vals.items()}
    sums = {k: float(np.sum(v)) for k, v in vals.items()}  # exact means (a histogram's are not)
    chosen = heapq.nsmallest(samples, ((_rank(seed, r["uid"]), r["uid"]) for r in rows))
    by_uid = {r["uid"]: r for r in rows}
    picked = [
        {
            "rank": h,
            "sidecar": sidecar.name,
            "row": {
                k: by_uid[u].get(k)
                for k in ("uid", "key", "status", "reason", "raw", "desc", "neg_desc", "tags", "neg_tags")
            },
            "scores": score_rows.get(u),
        }
        for h, u in chosen
    ]
    return {
        "rows": len(rows),
        "records": len(records),
        "tokens": tokens,
        "salvaged": sum(bool(r.get("dropped")) for r in rows if r["status"] == "ok"),
        **c,
        "hists": hists,
        "sums": sums,
        "picked": picked,
    }


def _empty() -> dict[str, Any]:
    return {
        "rows": 0,
        "records": 0,
        "salvaged": 0,
        "tokens": {"in": [0, 0], "out": [0, 0]},
        **{k: Counter() for k in COUNTERS},
        "hists": {k: np.zeros(len(EDGES) - 1, np.int64) for k in HISTS},
        "sums": dict.fromkeys(HISTS, 0.0),
        "picked": [],
    }


def _add(acc: dict[str, Any], part: dict[str, Any], samples: int) -> None:
    """Fold one sidecar's summary into `acc`, keeping the `samples` lowest-ranked samples."""
    for k in ("rows", "records", "salvaged"):
        acc[k] += part[k]
    for k in COUNTERS:
        acc[k].update(part[k])
    for k in ("in", "out"):
        acc["tokens"][k] = [a + b for a, b in zip(acc["tokens"][k], part["tokens"][k])]
    for k in HISTS:
        acc["hists"][k] += part["hists"][k]
        acc["sums"][k] += part["sums"][k]
    acc["picked"] = sorted(acc["picked"] + part["picked"], key=lambda s: s["rank"])[:samples]


def _mean(counts: Counter) -> float | None:
    n = sum(counts.values())
    return sum(k * v for k, v in counts.items()) / n if n else None


def _hist_summary(counts: np.ndarray, total: float) -> dict[str, Any] | None:
    """Count, mean (from the exact `total`), quantiles (bin centres) and share below zero of a
    histogram over EDGES."""
    n = int(counts.sum())
    if n == 0:
        return None
    mid = (EDGES[:-1] + EDGES[1:]) / 2
    cum = np.cumsum(counts) / n
    q = {f"p{p}": round(float(mid[np.searchsorted(cum, p / 100)]), 3) for p in (10, 50, 90)}
    return {
        "n": n,
        "mean": round(total / n, 4),
        **q,
        "below_zero": round(float(counts[mid < 0].sum() / n), 4),
        "counts": counts.tolist(),
    }


def summarise(
    sidecars: str | Path,
    scores: str | Path | None = None,
    samples: int = 24,
    seed: int = 0,
    top: int = 20,
    workers: int = 1,
    progress: bool = True,
    work_dir: str | Path | None = None,
    world_kinds: bool = False,
) -> dict[str, Any]:
    """The report's numbers (and its sample rows) for a sidecar folder; refuses
    (`UserError`) before any work what it cannot read. Tag and word counts spill to a
    temp folder under `work_dir` (default: the system's). `world_kinds`: also classify each
    description negative by the synthetic world's edit kinds (colour, size, relation, ...), which
    only mean something on world data."""
    files = preflight.sidecars(sidecars)
    pairs = preflight.scores(files, scores) if scores is not None else {}
    shown = bar(total=len(files), desc="report", unit="sidecar", disable=not progress)
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".report-") as tmp:
        m = _empty()

        def add(unit: str, part: dict[str, Any]) -> None:
            _add(m, part, samples)
            shown.update(1)

        run_units(
            files,
            partial(
                _summarise,
                scores={s.name: str(p) for s, p in pairs.items()},
                tmp=tmp,
                samples=samples,
                seed=seed,
                world_kinds=world_kinds,
            ),
            workers=workers,
            on_done=add,
            collect=False,
        )
        shown.close()
        vocab = {
            name: top_counts(f"{tmp}/{name}/*.parquet", top, tmp) for name in ("tags", "neg_tags", "words")
        }
    total = m["rows"]
    ok = m["status"].get("ok", 0)
    res = {
        "sidecars": str(sidecars),
        "scores": str(scores) if scores is not None else None,
        "files": len(files),
        "rows": total,
        "valid_pct": round(100 * ok / total, 2) if total else None,
        "status": dict(m["status"].most_common()),
        "invalid_reasons": dict(m["reasons"].most_common()),
        "records": m["records"],
        "salvaged": m["salvaged"],
        "attempts": {str(k): v for k, v in sorted(m["attempts"].items())},
        "tokens": {
            k: {"rows": n, "total": t, "mean": round(t / n, 1) if n else None}
            for k, (t, n) in m["tokens"].items()
        },
        "sentences": {
            "per_record": _sorted(m["desc_per_record"]),
            "mean": _mean(m["desc_per_record"]),
            "words": _sorted(m["desc_words"]),
            "mean_words": _mean(m["desc_words"]),
        },
        "tags": {
            "per_record": _sorted(m["tags_per_record"]),
            "mean": _mean(m["tags_per_record"]),
            "words": _sorted(m["tag_words"]),
            "mean_words": _mean(m["tag_words"]),
        },
        "top_tags": [[t, n] for t, n in vocab["tags"][0]],
        "vocabulary": {
            "tags": vocab["tags"][1],
            "neg_tags": vocab["neg_tags"][1],
            "description_words": vocab["words"][1],
        },
        "edits": {"desc": _ordered(m["desc_edits"]), "tags": _ordered(m["tag_edits"])},
    }
    if world_kinds:
        res["edits"]["world"] = dict(m["world_kinds"].most_common())
    if pairs:
        res["scores_summary"] = {k: _hist_summary(m["hists"][k], m["sums"][k]) for k in HISTS}
        res["score_edges"] = [round(float(e), 3) for e in EDGES]
    res["samples"] = m["picked"]
    return res


def _sorted(counts: Counter) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counts.items())}


def _ordered(counts: Counter) -> dict[str, int]:
    return {k: counts[k] for k in EDIT_CLASSES if counts[k]}


def _pct(d: dict[str, int], k: str) -> str:
    n = sum(d.values())
    return f"{100 * d.get(k, 0) / n:.1f}" if n else "–"


def markdown(res: dict[str, Any]) -> str:
    tok = res["tokens"]
    lines = [
        f"# Refined data report: {res['sidecars']}",
        "",
        f"{res['rows']} rows in {res['files']} sidecars; **{res['valid_pct']}% valid** "
        f"({res['records']} records training uses; {res['salvaged']} salvaged, i.e. kept "
        f"minus some pairs).",
        "",
    ]
    if any(v["rows"] for v in tok.values()):
        lines += ["| tokens | rows with a count | total | mean per row |", "|---|---|---|---|"]
        lines += [
            f"| {k} | {v['rows']} | {v['total']} | {v['mean'] if v['mean'] is not None else '–'} |"
            for k, v in tok.items()
        ]
    else:
        lines.append("No token counts (the backend reported none).")
    if res["invalid_reasons"]:
        lines += ["", "| invalid reason | rows | % of rows |", "|---|---|---|"]
        lines += [f"| {k} | {v} | {100 * v / res['rows']:.2f} |" for k, v in res["invalid_reasons"].items()]
    else:
        lines += ["", "No invalid rows."]
    if res["attempts"]:
        lines += [
            "",
            "| attempts | " + " | ".join(res["attempts"]) + " |",
            "|---" * (len(res["attempts"]) + 1) + "|",
            "| rows | " + " | ".join(map(str, res["attempts"].values())) + " |",
        ]
    s, t = res["sentences"], res["tags"]
    f = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
    lines += [
        "",
        "| per record | mean count | mean words |",
        "|---|---|---|",
        f"| description sentences | {f(s['mean'])} | {f(s['mean_words'])} |",
        f"| tags | {f(t['mean'])} | {f(t['mean_words'])} |",
    ]
    v = res["vocabulary"]
    lines += [
        "",
        f"Vocabulary: {v['tags']} distinct tags, {v['neg_tags']} distinct negative tags, "
        f"{v['description_words']} distinct words in descriptions and their negatives.",
        "",
        "Most frequent tags: " + ", ".join(f"{tag} ({n})" for tag, n in res["top_tags"]) + ".",
    ]
    for what, d in res["edits"].items():
        title = {
            "desc": "description negatives",
            "tags": "tag negatives",
            "world": "world kind (description negatives)",
        }[what]
        lines += ["", f"| edit: {title} | pairs | % |", "|---|---|---|"]
        lines += [f"| {k} | {n} | {_pct(d, k)} |" for k, n in d.items()]
    if res.get("scores_summary"):
        lines += [
            "",
            "| score (cosine) | n | mean | p10 | p50 | p90 | < 0 |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, h in res["scores_summary"].items():
            if h:
                lines.append(
                    f"| {k} | {h['n']} | {h['mean']:.3f} | {h['p10']:.2f} | {h['p50']:.2f} | "
                    f"{h['p90']:.2f} | {100 * h['below_zero']:.1f}% |"
                )
        lines.append(
            "\nmargin = description sentence − its negative; tag_margin likewise for tags; "
            "a margin below 0 means the scorer prefers the negative."
        )
    return "\n".join(lines) + "\n"


def _plots(res: dict[str, Any], out: Path) -> dict[str, Path]:
    from hqclip.plots import pyplot, save_png

    plt = pyplot()
    paths = {"counts": out / "counts.png", "edits": out / "edits.png"}
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.4))
    for ax, (title, d) in zip(
        axes,
        (
            ("sentences per record", res["sentences"]["per_record"]),
            ("tags per record", res["tags"]["per_record"]),
            ("words per sentence", res["sentences"]["words"]),
            ("words per tag", res["tags"]["words"]),
        ),
    ):
        ax.bar([int(k) for k in d], list(d.values()))
        ax.set_title(title, fontsize="medium")
    axes[0].set_ylabel("count")
    fig.tight_layout()
    save_png(fig, paths["counts"])
    edits = res["edits"]
    fig, axes = plt.subplots(1, len(edits), figsize=(5.5 * len(edits), 3.4))
    for ax, (what, d) in zip(np.atleast_1d(axes), edits.items()):
        ax.barh(list(d)[::-1], list(d.values())[::-1])
        ax.set_title(f"negatives: {what}", fontsize="medium")
    fig.tight_layout()
    save_png(fig, paths["edits"])
    if res.get("scores_summary"):
        paths["scores"] = out / "scores.png"
        mid = (EDGES[:-1] + EDGES[1:]) / 2
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
        for ax, keys, title in (
            (axes[0], ("alt", "desc", "neg_desc", "tags"), "scores"),
            (axes[1], ("margin", "tag_margin"), "margins (positive − negative)"),
        ):
            used = [
                i
                for k in keys
                if res["scores_summary"][k]
                for i in np.flatnonzero(res["scores_summary"][k]["counts"])
            ]
            for k in keys:
                h = res["scores_summary"][k]
                if h:
                    ax.step(mid, np.array(h["counts"]) / h["n"], where="mid", label=k)
            if used:
                ax.set_xlim(mid[min(used)] - 0.05, mid[max(used)] + 0.05)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_title(title, fontsize="medium")
            ax.set_xlabel("cosine similarity")
            ax.legend(fontsize="small")
        axes[0].set_ylabel("share")
        fig.tight_layout()
        save_png(fig, paths["scores"])
    return paths


def write_report(
    res: dict[str, Any], out_dir: str | Path, inputs: str | Path | None = None
) -> dict[str, Path]:
    """report.json, report.md, counts.png, edits.png (scores.png) and samples.html under `out_dir`;
    `inputs`: the shards, for the samples' images and alt-texts."""
    from hqclip.curate.html import attach_images, samples_page

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = attach_images(res["samples"], inputs) if inputs is not None else res["samples"]
    paths = {"json": out / "report.json", "markdown": out / "report.md", "html": out / "samples.html"}
    slim = {k: v for k, v in res.items() if k != "samples"}
    write_text(
        paths["json"],
        json.dumps({**slim, "samples": [s["row"]["uid"] for s in samples]}, indent=1, allow_nan=False) + "\n",
    )
    write_text(paths["markdown"], markdown(res))
    write_text(paths["html"], samples_page(samples, slim))
    paths.update(_plots(res, out))
    return paths
