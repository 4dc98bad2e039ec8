"""The study behind the quickstart's settings, run on the tuning world (seed 1000), never on the
reported one. It trains the ablation's four rows plus the alternatives each setting was chosen
over (the STC text head; HNI at weight 0.5 and 2, and with every sentence negated; half of the
positives alt-text, with HNI's negatives for them from the description or in their own form),
and probes what HNI learns: how often a model prefers an image's own description to the same
description with one sentence swapped for its negative, by kind of edit, with the image and from
the texts alone. With several seeds it reports mean ± std per row.

    python -m hqclip.quickstart.study --out runs/study        # ~50 min on two cores
    python -m hqclip.quickstart.study --out runs/study-1440 --steps 1440 \
        --rows "alt-text CLIP; + long desc; + HNI" --seeds 0,1,2  # ~2 h

Writes study.json, study.md and probe.png under OUT/report.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from itertools import islice
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.quickstart.plan import FINAL, VARIANTS, Plan
from hqclip.quickstart.report import _cell, _ms, aggregate
from hqclip.quickstart.run import make_sidecars, make_world, train_model

ROWS: dict[str, dict[str, Any]] = {
    **VARIANTS,
    "+ long desc + STC text head": {**VARIANTS["+ long desc"], "stc_weight": 1.0, "stc_head": "text"},
    # loss weight and how the negative is built (HNI's target is the compositional benchmark)
    "+ HNI, weight 0.5": {**VARIANTS["+ HNI"], "hni_weight": 0.5},
    "+ HNI, weight 2": {**VARIANTS["+ HNI"], "hni_weight": 2.0},
    "+ HNI, every sentence negated": {**VARIANTS["+ HNI"], "neg_swap": "all"},
    # the design's text mix: alt-text as the positive for half of the samples
    "+ long desc, half alt-text": {**VARIANTS["+ long desc"], "text_mix": {"alt": 0.5, "desc": 0.5}},
    "HQ-CLIP, half alt-text": {**VARIANTS[FINAL], "text_mix": {"alt": 0.5, "desc": 0.5}},
    # ... and an alt-text positive's negative in its own form (a named tag swapped for its negative)
    "+ HNI, half alt-text": {**VARIANTS["+ HNI"], "text_mix": {"alt": 0.5, "desc": 0.5}},
    "+ HNI, half alt-text, alt negatives": {**VARIANTS["+ HNI"], "text_mix": {"alt": 0.5, "desc": 0.5},
                                            "alt_neg": True},
    "HQ-CLIP, half alt-text, alt negatives": {**VARIANTS[FINAL], "text_mix": {"alt": 0.5, "desc": 0.5},
                                              "alt_neg": True},
}
COLUMNS = ("ZS top-1", "ZS held-out top-1", "I→T R@1", "T→I R@1", "SugarCrepe")
KINDS = ("color", "shape", "size", "position", "relation", "count")


def edit_kind(pos: str, neg: str) -> str:
    """Which fact a world negative sentence changes (sentences from hqclip.world.describe)."""
    from hqclip.world.config import COLORS, SHAPES, SIZES

    if pos.endswith("in total."):
        return "count"
    if " is " in pos:
        return "relation"
    a, b = pos.rstrip(".").split(), neg.rstrip(".").split()
    changed = [w for w, v in zip(a, b) if w != v] if len(a) == len(b) else []
    if len(changed) == 1:
        for kind, words in (("color", COLORS), ("shape", SHAPES), ("size", SIZES)):
            if changed[0] in words:
                return kind
    return "position"


def annotated_samples(shards: list[Path], sidecars: Path, n: int = 600) -> tuple[list, dict]:
    """The first `n` samples of `shards` that have a valid annotation, and the annotation index."""
    from hqclip.data.samples import SkipLog
    from hqclip.data.shards import iter_shards
    from hqclip.train.annotations import load_index

    index = load_index(shards, sidecars, SkipLog())
    return list(islice((s for s in iter_shards(shards) if s.uid in index), n)), index


def _accuracy(hits: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    every = [h for v in hits.values() for h in v]
    out = {k: {"acc": sum(hits[k]) / len(hits[k]), "n": len(hits[k])} for k in KINDS if hits[k]}
    return {"all": {"acc": sum(every) / max(len(every), 1), "n": len(every)}, **out}


def _text_only(diffs: list, kinds: list[str]) -> dict[str, dict[str, float]]:
    """Fit one direction w on the first half of the pairs so that w·(t_pos − t_neg) > 0 (logistic
    regression, both signs as examples); per kind, how often it prefers the description on the
    second half. High accuracy means the negative can be told from the description without the
    image — a shortcut the HNI loss can take instead of looking."""
    import torch

    half = len(diffs) // 2
    if half == 0:
        return _accuracy({})
    x = torch.stack(diffs)
    w = torch.zeros(x.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200)
    train = torch.cat([x[:half], -x[:half]])
    labels = torch.cat([torch.ones(half), torch.zeros(half)])

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(train @ w, labels)
        loss = loss + 1e-3 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    hits: dict[str, list[float]] = defaultdict(list)
    with torch.no_grad():
        for d, kind in zip(x[half:], kinds[half:]):
            hits[kind].append(float(d @ w > 0))
    return _accuracy(hits)


def probe(spec: str, samples: list, index: dict) -> tuple[dict, dict]:
    """Per edit kind, over `samples` (annotated: see `annotated_samples`): accuracy of
    sim(image, description) > sim(image, description with that one sentence negated), and the same
    preference from the texts alone (`_text_only`)."""
    import torch

    from hqclip.eval.models import ModelSpec, load

    m = load(ModelSpec.parse(spec))
    hits: dict[str, list[float]] = defaultdict(list)
    diffs, kinds = [], []
    with torch.no_grad():
        for start in range(0, len(samples), 100):
            chunk = samples[start:start + 100]
            images = m.model.encode_image(torch.stack([m.preprocess(s.image) for s in chunk]), normalize=True)
            for image, s in zip(images, chunk):
                d, nd = index[s.uid]["desc"], index[s.uid]["neg_desc"]
                texts = [" ".join(d), *(" ".join(nd[k] if k == i else d[k] for k in range(len(d)))
                                        for i in range(len(d)))]
                emb = m.model.encode_text(m.tokenizer(texts), normalize=True)
                sims = emb @ image
                for i in range(len(d)):
                    kind = edit_kind(d[i], nd[i])
                    hits[kind].append(float(sims[0] > sims[i + 1]))
                    diffs.append(emb[0] - emb[i + 1])
                    kinds.append(kind)
    return _accuracy(hits), _text_only(diffs, kinds)


PROBES = {"image": "Description preferred over its one-sentence negative, given the image "
                   "(training samples; accuracy %, n per kind)",
          "text only": "The same preference from the texts alone: one linear direction fitted on "
                       "half of the pairs, scored on the other half (accuracy %, n per kind)"}


def _markdown(rows: dict[str, dict[str, list]], probes: dict[str, dict[str, dict]], plan: Plan) -> str:
    seeds = ", ".join(map(str, plan.seeds))
    head = (f"Tuning world (seed {plan.world_seed}), {plan.model}, {plan.steps} steps × {plan.batch_size}, "
            f"captioner error {plan.error:g}, "
            + (f"seed {seeds}.\n\n" if len(plan.seeds) == 1
               else f"seeds {seeds} (mean ± std; probes on seed {plan.seeds[0]}).\n\n"))
    lines = ["| row | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(m.get(c)) for c in COLUMNS) + " |")
    kinds = ["all", *KINDS]
    for which, title in PROBES.items():
        lines += ["", f"{title}:", "", "| row | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
        for name, p in probes[which].items():
            lines.append(f"| {name} | " + " | ".join(
                f"{100 * p[k]['acc']:.1f} (n={p[k]['n']})" if k in p else "–" for k in kinds) + " |")
    return head + "\n".join(lines) + "\n"


def _plot(path: Path, probes: dict[str, dict[str, dict]]) -> None:
    from hqclip.eval.report import pyplot, save_png

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
    kinds = ["all", *KINDS]
    for ax, which in zip(axes, PROBES):
        rows = probes[which]
        width = 0.8 / max(len(rows), 1)
        for j, (name, p) in enumerate(rows.items()):
            xs = [i + (j - (len(rows) - 1) / 2) * width for i in range(len(kinds))]
            ax.bar(xs, [100 * p[k]["acc"] if k in p else 0 for k in kinds], width, label=name)
        ax.set_xticks(range(len(kinds)), kinds)
        ax.set_ylim(40, 100)
        ax.set_title(f"description vs its one-sentence negative: {which}", fontsize="medium")
    axes[0].set_ylabel("description preferred (%)")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def study(plan: Plan, out: Path, rows: dict[str, dict[str, Any]] = ROWS,
          probe_rows: tuple[str, ...] = ("+ long desc", "+ HNI", "+ HNI, every sentence negated",
                                         FINAL)) -> str:
    """Train every row for every seed of the plan, evaluate, report mean ± std over seeds; the
    probes use the first seed's models."""
    from hqclip.eval import evaluate

    if plan.world_seed == Plan().world_seed:
        raise ValueError("the study tunes settings: run it on the tuning world, not the reported one")
    world = make_world(plan, out)
    sidecars = make_sidecars(plan, world, out, plan.error)
    label = {(name, seed): name if len(plan.seeds) == 1 else f"{name} (seed {seed})"
             for name in rows for seed in plan.seeds}
    ckpts = {key: train_model(plan, world, sidecars, out, key[0], key[1], plan.error, rows[key[0]])
             for key in label}
    results = evaluate([f"{label[k]}={plan.model}:{ck}" for k, ck in ckpts.items()], world,
                       out / "report" / "eval", cache_dir=out / "cache")
    groups = aggregate([{"label": lab, "variant": name, "error": plan.error}
                        for (name, _), lab in label.items()], results)
    values = {name: groups[name, plan.error] for name in rows}
    samples, index = annotated_samples(sorted((world / "train").glob("*.tar"))[-1:], sidecars)
    both = {name: probe(f"{name}={plan.model}:{ckpts[name, plan.seeds[0]]}", samples, index)
            for name in probe_rows if name in rows}
    probes = {which: {name: p[i] for name, p in both.items()} for i, which in enumerate(PROBES)}
    text = _markdown(values, probes, plan)
    stats = {n: {c: _ms(v) for c, v in m.items()} for n, m in values.items()}
    report = {"seeds": list(plan.seeds),
              "metrics": {n: {c: ms[0] for c, ms in m.items()} for n, m in stats.items()},
              "std": {n: {c: ms[1] for c, ms in m.items()} for n, m in stats.items()},
              "probe": probes}
    write_text(out / "report" / "study.json", json.dumps(report, indent=2))
    write_text(out / "report" / "study.md", text)
    _plot(out / "report" / "probe.png", probes)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/study"))
    ap.add_argument("--world-seed", type=int, default=1000)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds, e.g. 0,1,2")
    ap.add_argument("--steps", type=int, default=Plan().steps, help="training steps of every row")
    ap.add_argument("--rows", default="; ".join(ROWS),
                    help=f"';'-separated subset of (names hold commas): {'; '.join(ROWS)}")
    a = ap.parse_args()
    names = [r.strip() for r in a.rows.split(";") if r.strip()]
    if unknown := [r for r in names if r not in ROWS]:
        ap.error(f"--rows: unknown {unknown}; choose from {list(ROWS)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seeds = tuple(int(x) for x in a.seeds.split(",") if x.strip())
    print(study(Plan(world_seed=a.world_seed, seeds=seeds, steps=a.steps), a.out,
                rows={r: ROWS[r] for r in names}))


if __name__ == "__main__":
    main()
