"""The quickstart's own report (quickstart.md/json and its plots): the tables of both paths (from
scratch; fine-tuned from alt-text CLIP; mean ± std over seeds), learning curves and the plateau
check, the learnability controls, the checks of what HQ-CLIP claims (the rules are in `verdicts`),
the WiSE-FT sweep, the blind test, the captioner-error study and the cycle's table."""

from __future__ import annotations

import json
from pathlib import Path

from hqclip.data.atomic import write_text
from hqclip.plots import pyplot, save_png
from hqclip.quickstart.plan import CONTROL_FT, FINAL, SCRATCH_FINAL, START, VARIANTS, Plan, Row
from hqclip.quickstart.stats import aggregate, cell, mean_std
from hqclip.quickstart.verdicts import FAMILIES, claims, curves, plateau, resolvable
from hqclip.world import blind
from hqclip.world.splits import SUBSETS


def _plot_curves(path: Path, curve: dict, offsets: dict[str, int]) -> None:
    """Learning curves; a fine-tune's steps are drawn after its start's last one (`offsets`)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(4.2 * len(FAMILIES), 3.6))
    for ax, (family, col) in zip(axes, FAMILIES.items()):
        for variant, fams in curve.items():
            steps = sorted(fams[col])
            ms = [100 * mean_std(fams[col][s])[0] for s in steps]
            ss = [100 * mean_std(fams[col][s])[1] for s in steps]
            xs = [offsets.get(variant, 0) + s for s in steps]
            ax.errorbar(xs, ms, yerr=ss, marker="o", capsize=2, label=variant)
        ax.set_title(f"{family} ({col}, held-out eval)", fontsize="medium")
        ax.set_xlabel("step (a fine-tune's after its start's)")
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def _plot(path: Path, groups: dict, plan: Plan, rows: tuple[str, ...]) -> None:
    plt = pyplot()
    cols = ["ZS top-1", "ZS held-out top-1", "retrieval R@1", "SugarCrepe", *SUBSETS]
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / len(rows)
    for j, v in enumerate(rows):
        g = groups[(v, plan.error)]
        means = [100 * mean_std(g[c])[0] if g.get(c) else 0 for c in cols]
        stds = [100 * mean_std(g[c])[1] if g.get(c) else 0 for c in cols]
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
        xs = [e for e in plan.error_rates if groups.get((SCRATCH_FINAL, e), {}).get(col)]
        ms = [100 * mean_std(groups[(SCRATCH_FINAL, e)][col])[0] for e in xs]
        ss = [100 * mean_std(groups[(SCRATCH_FINAL, e)][col])[1] for e in xs]
        ax.errorbar([100 * x for x in xs], ms, yerr=ss, marker="o", capsize=3, label=col)
    ax.set_xlabel("simulated captioner error (% omission = % hallucination)")
    ax.set_ylabel("%")
    ax.set_title("HQ-CLIP (from scratch) vs captioner quality")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)


def _plot_wise_ft(path: Path, wise: dict, control: dict) -> None:
    """Zero-shot top-1 against retrieval and SugarCrepe, one point per α (mean over seeds), with
    the alt-text control fine-tune as the point to beat."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, col in zip(axes, ("retrieval R@1", "SugarCrepe")):
        xs = [100 * mean_std(g["ZS top-1"])[0] for g in wise.values()]
        ys = [100 * mean_std(g[col])[0] for g in wise.values()]
        ax.plot(xs, ys, "o-", label="WiSE-FT, start → HQ-CLIP fine-tune")
        for name, x, y in zip(wise, xs, ys):
            ax.annotate(name.removeprefix("WiSE-FT "), (x, y), textcoords="offset points", xytext=(4, 4))
        if control.get(col) and control.get("ZS top-1"):
            x, y = 100 * mean_std(control["ZS top-1"])[0], 100 * mean_std(control[col])[0]
            ax.plot([x], [y], "s", label=CONTROL_FT)
        ax.set_xlabel("ZS top-1 (%)")
        ax.set_ylabel(f"{col} (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle("WiSE-FT of the fine-tuned HQ-CLIP (α = 0: alt-text CLIP, α = 1: fine-tuned)")
    fig.tight_layout()
    save_png(fig, path)


def _table(title: str, cols: list[str], rows: dict[str, dict]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(g.get(c)) for c in cols) + " |" for name, g in rows.items()]
    return lines


def write_quickstart_report(
    plan: Plan,
    runs: list[dict],
    results: dict,
    curve_results: dict,
    blind_result: dict,
    timings: dict,
    out: Path,
    rows: dict[str, Row] = VARIANTS,
    turn_md: str | None = None,
    wise: dict | None = None,
) -> str:
    """Write quickstart.md/json and the plots under `out`; returns the Markdown. `turn_md` is the
    cycle's table, already rendered (`cycle.cycle_markdown`); `wise` the WiSE-FT sweep
    (`run.wise_ft_sweep`)."""
    groups = aggregate(runs, results)
    solvable = resolvable(groups)
    chosen = tuple(s for s in SUBSETS if solvable.get(s, {}).get("resolvable") is not False)
    claim_groups = aggregate(runs, results, chosen)
    cols = [
        "ZS top-1",
        "ZS held-out top-1",
        "I→T R@1",
        "T→I R@1",
        "SugarCrepe",
        "ARO order",
        "Winoground group",
    ]
    seeds = f"{len(plan.seeds)} seed(s)"
    scratch = [v for v, r in rows.items() if r.start is None]
    tuned = [v for v, r in rows.items() if r.start is not None]
    lines = []
    if scratch:
        title = f"from scratch, {plan.steps} steps (error {plan.error:g}, {seeds})"
        lines += [*_table(title, cols, {v: groups[(v, plan.error)] for v in scratch}), ""]
    if tuned:
        start = rows[tuned[0]].start
        title = f"fine-tuned from {start}, +{plan.finetune_steps} steps (error {plan.error:g}, {seeds})"
        lines += [*_table(title, cols, {v: groups[(v, plan.error)] for v in tuned}), ""]
    lines += _table("SugarCrepe subset", list(SUBSETS), {v: groups[(v, plan.error)] for v in rows})
    if solvable:
        lines += [
            "",
            "| learnability control | its subset | accuracy | chance + seed spread | resolvable |",
            "|---|---|---|---|---|",
        ]
        for s, c in solvable.items():
            verdict = {True: "yes", False: "NO: not resolvable at this size", None: "not judged (1 seed)"}
            lines.append(
                f"| control: {s} | {s} | {cell(groups[(f'control: {s}', 0.0)][s])} | "
                f"{100 * c['bar']:.1f} | {verdict[c['resolvable']]} |"
            )
        lines.append(
            f"\nCompositional claims use the SugarCrepe mean over: {', '.join(chosen) or 'no subset'}."
        )
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
        lines += [
            "",
            "| plateau check (last quarter) | family | steps | move | seed spread | plateaued |",
            "|---|---|---|---|---|---|",
        ]
        for p in flat:
            verdict = {True: "yes", False: "NO", None: "n/a (1 seed)"}[p["plateaued"]]
            lines.append(
                f"| {p['variant']} | {p['family']} | {p['from']}→{p['to']} | "
                f"{100 * p['move']:+.1f} | {100 * p['spread']:.1f} | {verdict} |"
            )
    if plan.error_study:
        lines += [
            "",
            *_table(
                "captioner error (HQ-CLIP from scratch)",
                cols,
                {f"HQ-CLIP @ {e:g}": groups.get((SCRATCH_FINAL, e), {}) for e in plan.error_rates},
            ),
        ]
    wise_groups = aggregate(wise["runs"], wise["results"]) if wise else {}
    if wise_groups:
        sweep = {v: g for (v, _), g in wise_groups.items()}
        title = f"WiSE-FT, α = 0: {START}, α = 1: {FINAL} ({seeds})"
        lines += ["", *_table(title, cols, {**sweep, CONTROL_FT: groups.get((CONTROL_FT, plan.error), {})})]
    lines += [
        "",
        "Blind test (accuracy % of telling the true text from its negative without the image; "
        "two-fold, logistic regression):",
        "",
        blind.markdown(blind_result).rstrip(),
    ]
    if turn_md is not None:
        lines += ["", "One turn of the cycle (report/cycle/):", "", turn_md.rstrip()]
    lines += [
        "",
        "Times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
        "All numbers in %. Per-model detail: report/eval/results.json.",
    ]
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "quickstart.md", text)
    write_text(
        out / "quickstart.json",
        json.dumps(
            {
                "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.__dict__.items()},
                "timings_s": timings,
                "claims": checks,
                "resolvable": solvable,
                "claim_subsets": list(chosen),
                "plateau": flat,
                "blind": blind_result,
                "curves": {
                    v: {c: {str(s): vals for s, vals in by.items()} for c, by in f.items()}
                    for v, f in curve.items()
                },
                "groups": [{"variant": v, "error": e, "metrics": g} for (v, e), g in groups.items()],
                "wise_ft": [{"variant": v, "metrics": g} for (v, _), g in wise_groups.items()],
            },
            indent=2,
        ),
    )
    _plot(out / "ablation.png", groups, plan, tuple(rows))
    if wise_groups:
        _plot_wise_ft(
            out / "wise_ft.png",
            {v: g for (v, _), g in wise_groups.items()},
            groups.get((CONTROL_FT, plan.error), {}),
        )
    if curve:
        _plot_curves(
            out / "curves.png", curve, {v: plan.steps for v, r in rows.items() if r.start is not None}
        )
    if plan.error_study:
        _plot_errors(out / "error_rates.png", groups, plan)
    return text
