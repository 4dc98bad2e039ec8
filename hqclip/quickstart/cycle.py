"""One turn of the self-reinforcing cycle, measured on the world, where the truth is known: refine
at 30 % captioner error, train HQ-CLIP (and alt-text CLIP) on it, let each score the refined data
(`hqclip score`), measure how well a score finds the sentences the captioner got wrong, filter with
HQ-CLIP's scores (`hqclip filter`), retrain HQ-CLIP on the filtered sidecars and compare it with
the unfiltered model on the eval splits (mean ± std over the plan's seeds). The same turn with the
truth as the scorer (every wrong sentence dropped, no right one) bounds what a perfect scorer
could buy.

A sentence is wrong when it does not hold of the sample's hidden scene
(`hqclip.world.describe.holds`): the oracle's hallucinations (a wrong colour, an invented object)
are, its omissions are not (a left-out object leaves no sentence). The filter's rule is fixed in
advance, not tuned: drop a sentence whose margin is below 0 (the scorer prefers its negative).

Part of `hqclip quickstart --full` (and `python -m experiments.cycle`, the turn alone). Writes
OUT/report/cycle/{cycle.md, cycle.json, cycle.png, eval/}; world, sidecars, models and embeddings
are shared with `hqclip quickstart --output OUT` (each stage cached on disk)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from hqclip.curate.filter import Rules, run_filter
from hqclip.curate.score import run_score
from hqclip.curate.score_format import read_scores, write_scores
from hqclip.data.atomic import write_text
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.eval import evaluate
from hqclip.plots import pyplot, save_png
from hqclip.quickstart.plan import SCRATCH_FINAL, START, VARIANTS, Plan
from hqclip.quickstart.stages import Job, make_sidecars, make_world, train_all
from hqclip.quickstart.stats import aggregate, cell, gain
from hqclip.world.describe import holds

log = logging.getLogger("hqclip.quickstart")

ERROR = 0.3
RULES = Rules(min_margin=0.0)
SLUG = {"HQ-CLIP": "hqclip", "alt-text CLIP": "alt-text-clip", "the truth": "truth"}
ROWS = ("HQ-CLIP, unfiltered", "HQ-CLIP, filtered by HQ-CLIP", "HQ-CLIP, filtered by the truth")
COLS = ("ZS top-1", "ZS held-out top-1", "I→T R@1", "T→I R@1", "SugarCrepe", "ARO order", "Winoground group")
ROC_POINTS = 101


def sentences(world: Path, sidecars: Path, scores: Path | None = None) -> dict[str, Any]:
    """Every description sentence of the valid records: whether it is wrong (does not hold of
    its scene) and, with `scores`, its score and margin; per shard, by uid, so the truth can be
    written as scores too (`truth_scores`)."""
    out: dict[str, Any] = {"wrong": [], "score": [], "margin": [], "unknown": 0, "by_shard": {}}
    for shard in list_shards(world):
        scenes = {s.uid: s.meta["scene"] for s in iter_shard(shard, decode=False)}
        records = read_annotations(sidecar_path(shard, sidecars), SkipLog())
        scored = {r["uid"]: r for r in read_scores(sidecar_path(shard, scores))} if scores is not None else {}
        truth = out["by_shard"][shard.name] = {}
        for uid, rec in records.items():
            truth[uid] = []
            for i, text in enumerate(rec["desc"]):
                ok = holds(scenes[uid], text)
                truth[uid].append(ok)
                if ok is None:
                    out["unknown"] += 1
                    continue
                sc = scored.get(uid)
                if scores is not None and (sc is None or sc["desc"] is None):
                    continue
                out["wrong"].append(not ok)
                if sc is not None:
                    out["score"].append(sc["desc"][i])
                    out["margin"].append(sc["margin"][i])
    return out


def detection(s: dict[str, Any], rule: Rules = RULES) -> dict[str, Any]:
    """AUROC of the score and of the margin at finding wrong sentences (a low value flags one),
    and precision / recall of the filter's rule (margin below `rule.min_margin`)."""
    wrong = np.array(s["wrong"], bool)
    res: dict[str, Any] = {
        "sentences": int(wrong.size),
        "wrong": int(wrong.sum()),
        "not_a_sentence": s["unknown"],
        "auroc": {},
        "roc": {},
    }
    for k in ("score", "margin"):
        flag = -np.array(s[k], np.float64)
        res["auroc"][k] = float(roc_auc_score(wrong, flag))
        fpr, tpr, _ = roc_curve(wrong, flag)
        grid = np.linspace(0, 1, ROC_POINTS)
        res["roc"][k] = np.interp(grid, fpr, tpr).round(4).tolist()
    flagged = np.array(s["margin"]) < rule.min_margin
    tp = int((flagged & wrong).sum())
    res.update(
        rule=f"margin < {rule.min_margin:g}",
        flagged=int(flagged.sum()),
        precision=tp / max(int(flagged.sum()), 1),
        recall=tp / max(int(wrong.sum()), 1),
    )
    return res


def truth_scores(world: Path, sidecars: Path, out: Path) -> Path:
    """Score sidecars in which the truth is the scorer: a sentence that holds scores 1 over its
    negative, a wrong one −1 (one that is no world sentence, 0), so the filter's own rule drops
    exactly the wrong sentences."""
    s = sentences(world, sidecars)
    for shard, by_uid in s["by_shard"].items():
        records = read_annotations(sidecar_path(shard, sidecars), SkipLog())
        rows = []
        for uid, truth in by_uid.items():
            rec = records[uid]
            m = [0.0 if t is None else (1.0 if t else -1.0) for t in truth]
            rows.append(
                {
                    "uid": uid,
                    "status": "ok",
                    "desc": m,
                    "neg_desc": [0.0] * len(m),
                    "margin": m,
                    "tags": [0.0] * len(rec["tags"]),
                    "neg_tags": [0.0] * len(rec["neg_tags"]),
                }
            )
        write_scores(sidecar_path(shard, out), rows, {"model": "truth"})
    return out


def unfiltered_jobs(plan: Plan, sidecars: Path, error: float = ERROR) -> tuple[list[Job], dict[str, Job]]:
    """HQ-CLIP on the unfiltered sidecars for every seed, and the two scorers (HQ-CLIP and
    alt-text CLIP, first seed). Named and checkpointed as the quickstart's own runs at this
    error, so those are shared."""
    points = plan.curve_points if error == plan.error else 1
    unfiltered = [
        Job(f"{SCRATCH_FINAL}-err{error:g}", seed, sidecars, VARIANTS[SCRATCH_FINAL].overrides, points)
        for seed in plan.seeds
    ]
    return unfiltered, {
        "HQ-CLIP": unfiltered[0],
        START: Job(f"{START}-err{error:g}", plan.seeds[0], sidecars, VARIANTS[START].overrides, points),
    }


def cycle(
    plan: Plan, out: Path, error: float = ERROR, rules: Rules = RULES, truth_filter: bool = True
) -> dict[str, Any]:
    """The turn, every stage cached under `out`; returns the result that `cycle_markdown` prints
    (also written to out/report/cycle/)."""
    world = make_world(plan, out)
    sidecars = make_sidecars(plan, world, out, error)
    unfiltered, scorers = unfiltered_jobs(plan, sidecars, error)
    jobs = [*unfiltered, scorers[START]]
    ckpts = {id(j): c[-1] for j, c in zip(jobs, train_all(plan, world, out, jobs))}

    result: dict[str, Any] = {
        "error": error,
        "rules": rules.__dict__,
        "seeds": list(plan.seeds),
        "detection": {},
        "filter": {},
    }
    scores = {}
    for name, job in scorers.items():
        dest = out / "sidecars" / f"error-{error:g}-scores-{SLUG[name]}-seed{job.seed}"
        run_score(f"{plan.model}:{ckpts[id(job)]}", world / "train", sidecars, dest)
        scores[name] = dest
        result["detection"][name] = detection(sentences(world, sidecars, dest), rules)
        log.info(
            "%s as the scorer: AUROC %.3f (margin), %.3f (score)",
            name,
            result["detection"][name]["auroc"]["margin"],
            result["detection"][name]["auroc"]["score"],
        )
    filtered = {"HQ-CLIP": scores["HQ-CLIP"]}
    if truth_filter:
        filtered["the truth"] = truth_scores(
            world, sidecars, out / "sidecars" / f"error-{error:g}-scores-truth"
        )
    turned = {}
    for name, dest in filtered.items():
        folder = out / "sidecars" / f"error-{error:g}-filtered-by-{SLUG[name]}"
        result["filter"][name] = run_filter(sidecars, dest, folder, rules)
        turned[f"HQ-CLIP, filtered by {name}"] = [
            Job(
                f"{SCRATCH_FINAL}-err{error:g}-filtered-by-{SLUG[name]}",
                seed,
                folder,
                VARIANTS[SCRATCH_FINAL].overrides,
            )
            for seed in plan.seeds
        ]
    retrained = train_all(plan, world, out, [j for js in turned.values() for j in js])
    runs, it = [], iter(retrained)
    for row, js in {ROWS[0]: unfiltered, **turned}.items():
        for j in js:
            ckpt = ckpts[id(j)] if row == ROWS[0] else next(it)[-1]
            runs.append(
                {
                    "variant": row,
                    "error": error,
                    "seed": j.seed,
                    "label": f"{row} | seed {j.seed}",
                    "spec": f"{plan.model}:{ckpt}",
                }
            )
    results = evaluate(
        [f"{r['label']}={r['spec']}" for r in runs],
        world,
        out / "report" / "cycle" / "eval",
        cache_dir=out / "cache",
        device=plan.device or "cpu",
    )
    groups = aggregate(runs, results)
    result["eval"] = {row: groups[(row, error)] for row in dict.fromkeys(r["variant"] for r in runs)}
    write_cycle_report(result, out / "report" / "cycle")
    return result


def cycle_markdown(result: dict[str, Any]) -> str:
    e = f"{100 * result['error']:g} %"
    lines = [
        f"Finding the captioner's wrong sentences (error {e}) by the scorer's similarity; "
        f"a wrong sentence is one that does not hold of its scene:",
        "",
        "| scorer | sentences | wrong | AUROC (margin) | AUROC (score) | rule | flagged | "
        "precision | recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in result["detection"].items():
        lines.append(
            f"| {name} | {d['sentences']} | {d['wrong']} ({100 * d['wrong'] / d['sentences']:.1f} %) | "
            f"{d['auroc']['margin']:.3f} | {d['auroc']['score']:.3f} | {d['rule']} | "
            f"{d['flagged']} | {100 * d['precision']:.1f} | {100 * d['recall']:.1f} |"
        )
    lines += [
        "",
        "| filter | records kept | sentences kept | dropped: margin | records emptied |",
        "|---|---|---|---|---|",
    ]
    for name, f in result["filter"].items():
        lines.append(
            f"| by {name} | {f['records_out']} / {f['records_in']} | {f['sentences_out']} / "
            f"{f['sentences_in']} | {f['why'].get('min_margin', 0)} | "
            f"{f['why'].get('no_sentence_left', 0)} |"
        )
    seeds = f"{len(result['seeds'])} seed(s)"
    lines += [
        "",
        f"| one turn of the cycle ({seeds}) | " + " | ".join(COLS) + " |",
        "|---" * (len(COLS) + 1) + "|",
    ]
    for row, g in result["eval"].items():
        lines.append(f"| {row} | " + " | ".join(cell(g.get(c)) for c in COLS) + " |")
    base = result["eval"][ROWS[0]]
    for row, g in list(result["eval"].items())[1:]:
        cells = []
        for c in COLS:
            if not g.get(c) or not base.get(c):
                cells.append("–")
                continue
            d, s = gain(base[c], g[c])
            cells.append(f"{100 * d:+.1f}" + (f" (spread {100 * s:.1f})" if len(g[c]) > 1 else ""))
        lines.append(f"| gain: {row.split(', ', 1)[1]} | " + " | ".join(cells) + " |")
    lines.append("\nAll numbers in %, except AUROC. Per-model detail: report/cycle/eval/results.json.")
    return "\n".join(lines) + "\n"


def _plot(result: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    fig, (roc, bars) = plt.subplots(1, 2, figsize=(12, 4.2))
    grid = np.linspace(0, 1, ROC_POINTS)
    for i, (name, d) in enumerate(result["detection"].items()):
        for k, style in (("margin", "-"), ("score", ":")):
            roc.plot(
                grid, d["roc"][k], style, color=f"C{i}", label=f"{name}, {k} (AUROC {d['auroc'][k]:.2f})"
            )
    roc.plot([0, 1], [0, 1], color="grey", lw=0.8)
    roc.set_xlabel("false positive rate (right sentences flagged)")
    roc.set_ylabel("true positive rate (wrong sentences flagged)")
    roc.set_title("finding wrong sentences", fontsize="medium")
    roc.legend(fontsize="small")
    cols = ["ZS top-1", "ZS held-out top-1", "retrieval R@1", "SugarCrepe"]
    rows = result["eval"]
    width = 0.8 / len(rows)
    for j, (row, g) in enumerate(rows.items()):
        xs = [i + (j - (len(rows) - 1) / 2) * width for i in range(len(cols))]
        ms = [100 * float(np.mean(g[c])) if g.get(c) else 0 for c in cols]
        ss = [100 * float(np.std(g[c], ddof=1)) if len(g.get(c, [])) > 1 else 0 for c in cols]
        bars.bar(xs, ms, width, yerr=ss if any(ss) else None, capsize=2, label=row)
    bars.set_xticks(range(len(cols)), cols, rotation=15)
    bars.set_ylabel("%")
    bars.set_title(f"one turn ({len(result['seeds'])} seed(s))", fontsize="medium")
    bars.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def write_cycle_report(result: dict[str, Any], out: Path) -> str:
    text = cycle_markdown(result)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "cycle.md", text)
    write_text(out / "cycle.json", json.dumps(result, indent=1))
    _plot(result, out / "cycle.png")
    return text
