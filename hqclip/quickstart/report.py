"""The quickstart's own report: the ablation table (mean ± std over seeds), the checks of what
HQ-CLIP claims, and plots of the ablation and of the captioner-error study."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.eval.report import KEY_METRICS, _get, pyplot, save_png
from hqclip.quickstart.plan import FINAL, VARIANTS, Plan

# the three families the paper's claims are about, and the column that stands for each
FAMILIES = {"zero-shot": "ZS top-1", "retrieval": "retrieval R@1", "compositional": "SugarCrepe"}


def _metrics(res: dict) -> dict[str, float | None]:
    out = {name: _get(res, path) for name, path in KEY_METRICS}
    i2t, t2i = out.get("I→T R@1"), out.get("T→I R@1")
    out["retrieval R@1"] = None if i2t is None or t2i is None else (i2t + t2i) / 2
    return out


def aggregate(runs: list[dict], results: dict) -> dict[tuple[str, float], dict[str, list[float]]]:
    """(variant, error) -> metric -> values over seeds."""
    groups: dict[tuple[str, float], dict[str, list[float]]] = {}
    for r in runs:
        m = _metrics(results["models"][r["label"]])
        g = groups.setdefault((r["variant"], r["error"]), {})
        for k, v in m.items():
            if v is not None:
                g.setdefault(k, []).append(v)
    return groups


def _ms(vals: list[float]) -> tuple[float, float]:
    return statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def _cell(vals: list[float] | None) -> str:
    if not vals:
        return "–"
    m, s = _ms(vals)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(vals) > 1 else f"{100 * m:.1f}"


def claims(groups: dict, error: float) -> list[dict[str, Any]]:
    """HQ-CLIP beats alt-text CLIP on every family; HNI gains on compositional and STC on zero-shot
    by more than the seed-to-seed spread (with one seed the spread is unknown: reported, not judged)."""
    def fam(variant, family):
        return groups[(variant, error)].get(FAMILIES[family], [])

    out = []
    for family in FAMILIES:
        a, b = fam("alt-text CLIP", family), fam(FINAL, family)
        out.append({"claim": f"HQ-CLIP > alt-text CLIP on {family}",
                    "gain": _ms(b)[0] - _ms(a)[0], "spread": max(_ms(a)[1], _ms(b)[1]), "n": len(a)})
    for name, base, plus, family in (("HNI", "+ long desc", "+ HNI", "compositional"),
                                     ("STC", "+ HNI", FINAL, "zero-shot")):
        a, b = fam(base, family), fam(plus, family)
        out.append({"claim": f"{name} gain on {family} > seed spread",
                    "gain": _ms(b)[0] - _ms(a)[0], "spread": max(_ms(a)[1], _ms(b)[1]), "n": len(a)})
    for c in out:  # one seed measures no spread: the sign is reported, the claim is not judged
        c["holds"] = c["gain"] > c["spread"] if c["n"] > 1 else None
    return out


def _plot(path: Path, groups: dict, plan: Plan) -> None:
    plt = pyplot()
    cols = ["ZS top-1", "retrieval R@1", "SugarCrepe", "ARO order", "Winoground group"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(VARIANTS)
    for j, v in enumerate(VARIANTS):
        g = groups[(v, plan.error)]
        means = [100 * _ms(g[c])[0] if g.get(c) else 0 for c in cols]
        stds = [100 * _ms(g[c])[1] if g.get(c) else 0 for c in cols]
        xs = [i + (j - (len(VARIANTS) - 1) / 2) * width for i in range(len(cols))]
        ax.bar(xs, means, width, yerr=stds if len(plan.seeds) > 1 else None, label=v, capsize=2)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_ylabel("%")
    ax.set_title(f"quickstart ablation (captioner error {plan.error:g}, {len(plan.seeds)} seed(s))")
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def _plot_errors(path: Path, groups: dict, plan: Plan) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for col in ("ZS top-1", "retrieval R@1", "SugarCrepe"):
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


def write_quickstart_report(plan: Plan, runs: list[dict], results: dict, timings: dict,
                            out: Path) -> str:
    groups = aggregate(runs, results)
    cols = ["ZS top-1", "ZS held-out top-1", "I→T R@1", "T→I R@1", "SugarCrepe", "ARO order",
            "Winoground group"]
    lines = [f"| variant (error {plan.error:g}, {len(plan.seeds)} seed(s)) | " + " | ".join(cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for v in VARIANTS:
        g = groups[(v, plan.error)]
        lines.append(f"| {v} | " + " | ".join(_cell(g.get(c)) for c in cols) + " |")
    checks = claims(groups, plan.error)
    lines += ["", "| claim | gain (points) | seed spread | holds |", "|---|---|---|---|"]
    for c in checks:
        spread = f"{100 * c['spread']:.1f}" if c["n"] > 1 else "n/a (1 seed)"
        verdict = "not judged (1 seed)" if c["holds"] is None else ("yes" if c["holds"] else "NO")
        lines.append(f"| {c['claim']} | {100 * c['gain']:+.1f} | {spread} | {verdict} |")
    if plan.error_study:
        lines += ["", "| captioner error | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for e in plan.error_rates:
            g = groups.get((FINAL, e), {})
            lines.append(f"| HQ-CLIP @ {e:g} | " + " | ".join(_cell(g.get(c)) for c in cols) + " |")
    lines += ["", "Times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
              "All numbers in %. Per-model detail: report/eval/results.json."]
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "quickstart.md", text)
    write_text(out / "quickstart.json", json.dumps({
        "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.__dict__.items()},
        "timings_s": timings, "claims": checks,
        "groups": [{"variant": v, "error": e, "metrics": g} for (v, e), g in groups.items()]}, indent=2))
    _plot(out / "ablation.png", groups, plan)
    if plan.error_study:
        _plot_errors(out / "error_rates.png", groups, plan)
    return text
