"""The quickstart's own report: the ablation table (mean ± std over seeds), learning curves and the
plateau check, the learnability controls, the checks of what HQ-CLIP claims, the blind test, and the
captioner-error study."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.eval.eval_report import KEY_METRICS, _get
from hqclip.plots import pyplot, save_png
from hqclip.quickstart.plan import CONTROLS, FINAL, VARIANTS, Plan
from hqclip.world import blind
from hqclip.world.splits import SUBSETS

# the three families the paper's claims are about, and the column that stands for each
FAMILIES = {"zero-shot": "ZS top-1", "retrieval": "retrieval R@1", "compositional": "SugarCrepe"}
CHANCE = 0.5  # a SugarCrepe pair: two captions


def _metrics(res: dict, subsets: tuple[str, ...] = SUBSETS) -> dict[str, float | None]:
    """The key metrics of one model's results; "SugarCrepe" is the mean over `subsets`."""
    out = {name: _get(res, path) for name, path in KEY_METRICS}
    i2t, t2i = out.get("I→T R@1"), out.get("T→I R@1")
    out["retrieval R@1"] = None if i2t is None or t2i is None else (i2t + t2i) / 2
    accs = {s: _get(res, ("sugarcrepe", s, "acc")) for s in SUBSETS}
    out.update(accs)
    chosen = [accs[s] for s in subsets if accs[s] is not None]
    out["SugarCrepe"] = sum(chosen) / len(chosen) if chosen else None
    return out


def aggregate(runs: list[dict], results: dict, subsets: tuple[str, ...] = SUBSETS
              ) -> dict[tuple[str, float], dict[str, list[float]]]:
    """(row, error) -> metric -> values over seeds."""
    groups: dict[tuple[str, float], dict[str, list[float]]] = {}
    for r in runs:
        m = _metrics(results["models"][r["label"]], subsets)
        g = groups.setdefault((r["variant"], r["error"]), {})
        for k, v in m.items():
            if v is not None:
                g.setdefault(k, []).append(v)
    return groups


def _ms(vals: list[float]) -> tuple[float, float]:
    return statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def gain(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of b − mean of a, and the larger of the two seed spreads (0 with one seed)."""
    return _ms(b)[0] - _ms(a)[0], max(_ms(a)[1], _ms(b)[1])


def _cell(vals: list[float] | None) -> str:
    if not vals:
        return "–"
    m, s = _ms(vals)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(vals) > 1 else f"{100 * m:.1f}"


def resolvable(groups: dict) -> dict[str, dict[str, Any]]:
    """Per subset: its control's accuracy on it, the bar (chance + the control's seed spread) and
    whether the control clears it. With one seed the spread is unknown: not judged (None)."""
    out = {}
    for name in CONTROLS:
        subset = name.removeprefix("control: ")
        vals = groups.get((name, 0.0), {}).get(subset)
        if not vals:
            continue
        m, s = _ms(vals)
        out[subset] = {"control": m, "spread": s, "bar": CHANCE + s, "n": len(vals),
                       "resolvable": (m > CHANCE + s) if len(vals) > 1 else None}
    return out


def claims(groups: dict, error: float) -> list[dict[str, Any]]:
    """HQ-CLIP beats alt-text CLIP on every family; HNI gains on compositional and STC on zero-shot
    by more than the seed-to-seed spread (with one seed the spread is unknown: reported, not judged).
    `groups` already holds SugarCrepe as the mean over the resolvable subsets."""
    def fam(variant, family):
        return groups.get((variant, error), {}).get(FAMILIES[family], [])

    out = []
    for family in FAMILIES:
        out.append({"claim": f"HQ-CLIP > alt-text CLIP on {family}", "family": family,
                    "a": fam("alt-text CLIP", family), "b": fam(FINAL, family)})
    for name, base, plus, family in (("HNI", "+ long desc", "+ HNI", "compositional"),
                                     ("STC", "+ HNI", FINAL, "zero-shot")):
        out.append({"claim": f"{name} gain on {family} > seed spread", "family": family,
                    "a": fam(base, family), "b": fam(plus, family)})
    for c in out:
        a, b = c.pop("a"), c.pop("b")
        if not a or not b:  # e.g. no compositional subset is resolvable
            c.update(gain=None, spread=None, n=0, holds=None)
            continue
        g, spread = gain(a, b)
        c.update(gain=g, spread=spread, n=min(len(a), len(b)))
        c["holds"] = c["gain"] > c["spread"] if c["n"] > 1 else None
    return out


def curves(runs: list[dict], results: dict, curve_results: dict) -> dict[str, dict[str, dict[int, list[float]]]]:
    """variant -> family column -> step -> values over seeds (the runs evaluated along the way)."""
    out: dict = {}
    for r in runs:
        if len(r["ckpts"]) < 2:
            continue
        for ck in r["ckpts"]:
            step = int(ck.stem.split("_")[1])
            label = r["label"] if ck == r["ckpts"][-1] else f"{r['label']} | step {step}"
            res = (results if ck == r["ckpts"][-1] else curve_results)["models"][label]
            m = _metrics(res)
            for col in FAMILIES.values():
                out.setdefault(r["variant"], {}).setdefault(col, {}).setdefault(step, []).append(m[col])
    return out


def plateau(curve: dict) -> list[dict[str, Any]]:
    """Per variant and family: the move over the last quarter of training (the last two evaluated
    checkpoints) against the seed spread at the end. Plateaued when the move is smaller."""
    out = []
    for variant, fams in curve.items():
        for col, by_step in fams.items():
            steps = sorted(by_step)
            if len(steps) < 2:
                continue
            end, before = by_step[steps[-1]], by_step[steps[-2]]
            move = _ms(end)[0] - _ms(before)[0]
            spread = _ms(end)[1]
            out.append({"variant": variant, "family": col, "from": steps[-2], "to": steps[-1],
                        "move": move, "spread": spread, "n": len(end),
                        "plateaued": abs(move) < spread if len(end) > 1 else None})
    return out


def _plot_curves(path: Path, curve: dict) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(4.2 * len(FAMILIES), 3.6))
    for ax, (family, col) in zip(axes, FAMILIES.items()):
        for variant, fams in curve.items():
            steps = sorted(fams[col])
            ms = [100 * _ms(fams[col][s])[0] for s in steps]
            ss = [100 * _ms(fams[col][s])[1] for s in steps]
            ax.errorbar(steps, ms, yerr=ss, marker="o", capsize=2, label=variant)
        ax.set_title(f"{family} ({col}, held-out eval)", fontsize="medium")
        ax.set_xlabel("step")
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def _plot(path: Path, groups: dict, plan: Plan, rows: list[str]) -> None:
    plt = pyplot()
    cols = ["ZS top-1", "ZS held-out top-1", "retrieval R@1", "SugarCrepe", *SUBSETS]
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / len(rows)
    for j, v in enumerate(rows):
        g = groups[(v, plan.error)]
        means = [100 * _ms(g[c])[0] if g.get(c) else 0 for c in cols]
        stds = [100 * _ms(g[c])[1] if g.get(c) else 0 for c in cols]
        xs = [i + (j - (len(rows) - 1) / 2) * width for i in range(len(cols))]
        ax.bar(xs, means, width, yerr=stds if len(plan.seeds) > 1 else None, label=v, capsize=2)
    ax.set_xticks(range(len(cols)), cols, rotation=20, ha="right")
    ax.set_ylabel("%")
    ax.set_title(f"quickstart ablation (captioner error {plan.error:g}, {len(plan.seeds)} seed(s))")
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def _plot_errors(path: Path, groups: dict, plan: Plan) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for col in FAMILIES.values():
        xs = [e for e in plan.error_rates if groups.get((FINAL, e), {}).get(col)]
        ms = [100 * _ms(groups[(FINAL, e)][col])[0] for e in xs]
        ss = [100 * _ms(groups[(FINAL, e)][col])[1] for e in xs]
        ax.errorbar([100 * x for x in xs], ms, yerr=ss, marker="o", capsize=3, label=col)
    ax.set_xlabel("simulated captioner error (% omission = % hallucination)")
    ax.set_ylabel("%")
    ax.set_title("HQ-CLIP vs captioner quality")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)


def _table(title: str, cols: list[str], rows: dict[str, dict]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_cell(g.get(c)) for c in cols) + " |" for name, g in rows.items()]
    return lines


def write_quickstart_report(plan: Plan, runs: list[dict], results: dict, curve_results: dict,
                            blind_result: dict, timings: dict, out: Path,
                            rows: list[str] = list(VARIANTS), turn: dict | None = None) -> str:
    groups = aggregate(runs, results)
    solvable = resolvable(groups)
    chosen = tuple(s for s in SUBSETS if solvable.get(s, {}).get("resolvable") is not False)
    claim_groups = aggregate(runs, results, chosen)
    cols = ["ZS top-1", "ZS held-out top-1", "I→T R@1", "T→I R@1", "SugarCrepe", "ARO order",
            "Winoground group"]
    seeds = f"{len(plan.seeds)} seed(s)"
    lines = _table(f"variant (error {plan.error:g}, {seeds})", cols, {v: groups[(v, plan.error)] for v in rows})
    lines += ["", *_table("SugarCrepe subset", list(SUBSETS), {v: groups[(v, plan.error)] for v in rows})]
    if solvable:
        lines += ["", "| learnability control | its subset | accuracy | chance + seed spread | resolvable |",
                  "|---|---|---|---|---|"]
        for s, c in solvable.items():
            verdict = {True: "yes", False: "NO: not resolvable at this size", None: "not judged (1 seed)"}
            lines.append(f"| control: {s} | {s} | {_cell(groups[(f'control: {s}', 0.0)][s])} | "
                         f"{100 * c['bar']:.1f} | {verdict[c['resolvable']]} |")
        lines.append(f"\nCompositional claims use the SugarCrepe mean over: {', '.join(chosen) or 'no subset'}.")
    checks = claims(claim_groups, plan.error)
    lines += ["", "| claim | gain (points) | seed spread | holds |", "|---|---|---|---|"]
    for c in checks:
        if c["gain"] is None:
            why = "no resolvable subset" if c["family"] == "compositional" and solvable else "row not trained"
            lines.append(f"| {c['claim']} | – | – | not judged: {why} |")
            continue
        spread = f"{100 * c['spread']:.1f}" if c["n"] > 1 else "n/a (1 seed)"
        verdict = "not judged (1 seed)" if c["holds"] is None else ("yes" if c["holds"] else "NO")
        lines.append(f"| {c['claim']} | {100 * c['gain']:+.1f} | {spread} | {verdict} |")
    curve = curves(runs, results, curve_results)
    flat = plateau(curve)
    if flat:
        lines += ["", "| plateau check (last quarter) | family | steps | move | seed spread | plateaued |",
                  "|---|---|---|---|---|---|"]
        for p in flat:
            verdict = {True: "yes", False: "NO", None: "n/a (1 seed)"}[p["plateaued"]]
            lines.append(f"| {p['variant']} | {p['family']} | {p['from']}→{p['to']} | "
                         f"{100 * p['move']:+.1f} | {100 * p['spread']:.1f} | {verdict} |")
    if plan.error_study:
        lines += ["", *_table("captioner error", cols, {f"HQ-CLIP @ {e:g}": groups.get((FINAL, e), {})
                                                        for e in plan.error_rates})]
    lines += ["", "Blind test (accuracy % of telling the true text from its negative without the image; "
              "two-fold, logistic regression):", "", blind.markdown(blind_result).rstrip()]
    if turn is not None:
        from hqclip.quickstart.cycle import cycle_markdown

        lines += ["", "One turn of the cycle (report/cycle/):", "", cycle_markdown(turn).rstrip()]
    lines += ["", "Times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
              "All numbers in %. Per-model detail: report/eval/results.json."]
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "quickstart.md", text)
    write_text(out / "quickstart.json", json.dumps({
        "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.__dict__.items()},
        "timings_s": timings, "claims": checks, "resolvable": solvable, "claim_subsets": list(chosen),
        "plateau": flat, "blind": blind_result,
        "curves": {v: {c: {str(s): vals for s, vals in by.items()} for c, by in f.items()}
                   for v, f in curve.items()},
        "groups": [{"variant": v, "error": e, "metrics": g} for (v, e), g in groups.items()]}, indent=2))
    _plot(out / "ablation.png", groups, plan, rows)
    if curve:
        _plot_curves(out / "curves.png", curve)
    if plan.error_study:
        _plot_errors(out / "error_rates.png", groups, plan)
    return text
