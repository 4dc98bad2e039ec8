"""The study behind the quickstart's settings, run on the tuning world (seed 1000), never on the
reported one. It trains the ablation's four rows plus the STC text head on top of the long
descriptions (the ablation's STC row uses the linear head), and probes what HNI learns: how often
a model prefers an image's own description to the same description with one sentence swapped for
its negative, by kind of edit.

    python -m hqclip.quickstart.study --out runs/study        # ~17 min on two cores

Writes study.json, study.md and probe.png under OUT/report.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.quickstart.plan import FINAL, VARIANTS, Plan
from hqclip.quickstart.report import _metrics
from hqclip.quickstart.run import make_sidecars, make_world, train_model

ROWS: dict[str, dict[str, Any]] = {
    **VARIANTS,
    "+ long desc + STC text head": {**VARIANTS["+ long desc"], "stc_weight": 1.0, "stc_head": "text"},
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
    return [s for s in iter_shards(shards) if s.uid in index][:n], index


def probe(spec: str, samples: list, index: dict) -> dict[str, dict[str, float]]:
    """Per edit kind: accuracy of sim(image, description) > sim(image, description with that one
    sentence negated), and the count, over `samples` (annotated: see `annotated_samples`)."""
    import torch

    from hqclip.eval.models import ModelSpec, load

    m = load(ModelSpec.parse(spec))
    hits: dict[str, list[float]] = defaultdict(list)
    with torch.no_grad():
        for start in range(0, len(samples), 100):
            chunk = samples[start:start + 100]
            images = m.model.encode_image(torch.stack([m.preprocess(s.image) for s in chunk]), normalize=True)
            for image, s in zip(images, chunk):
                d, nd = index[s.uid]["desc"], index[s.uid]["neg_desc"]
                texts = [" ".join(d), *(" ".join(nd[k] if k == i else d[k] for k in range(len(d)))
                                        for i in range(len(d)))]
                sims = m.model.encode_text(m.tokenizer(texts), normalize=True) @ image
                for i in range(len(d)):
                    hits[edit_kind(d[i], nd[i])].append(float(sims[0] > sims[i + 1]))
    every = [h for v in hits.values() for h in v]
    out = {k: {"acc": sum(hits[k]) / len(hits[k]), "n": len(hits[k])} for k in KINDS if hits[k]}
    return {"all": {"acc": sum(every) / max(len(every), 1), "n": len(every)}, **out}


def _markdown(rows: dict[str, dict], probes: dict[str, dict], plan: Plan) -> str:
    head = (f"Tuning world (seed {plan.world_seed}), {plan.model}, {plan.steps} steps × {plan.batch_size}, "
            f"captioner error {plan.error:g}, seed {plan.seeds[0]}.\n\n")
    lines = ["| row | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * m[c]:.1f}" if m.get(c) is not None else "–"
                                                 for c in COLUMNS) + " |")
    kinds = ["all", *KINDS]
    lines += ["", "One-sentence hard negatives on training samples (accuracy %, n per kind):", "",
              "| row | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for name, p in probes.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * p[k]['acc']:.1f} (n={p[k]['n']})" if k in p else "–" for k in kinds) + " |")
    return head + "\n".join(lines) + "\n"


def _plot(path: Path, probes: dict[str, dict]) -> None:
    from hqclip.eval.report import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    kinds = ["all", *KINDS]
    width = 0.8 / max(len(probes), 1)
    for j, (name, p) in enumerate(probes.items()):
        xs = [i + (j - (len(probes) - 1) / 2) * width for i in range(len(kinds))]
        ax.bar(xs, [100 * p[k]["acc"] if k in p else 0 for k in kinds], width, label=name)
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylim(40, 100)
    ax.set_ylabel("description preferred over its one-sentence negative (%)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def study(plan: Plan, out: Path, rows: dict[str, dict[str, Any]] = ROWS,
          probe_rows: tuple[str, ...] = ("+ long desc", "+ HNI", FINAL)) -> str:
    from hqclip.eval import evaluate

    if plan.world_seed == Plan().world_seed:
        raise ValueError("the study tunes settings: run it on the tuning world, not the reported one")
    world = make_world(plan, out)
    sidecars = make_sidecars(plan, world, out, plan.error)
    seed = plan.seeds[0]
    ckpts = {name: train_model(plan, world, sidecars, out, name, seed, plan.error, overrides)
             for name, overrides in rows.items()}
    results = evaluate([f"{name}={plan.model}:{ck}" for name, ck in ckpts.items()], world,
                       out / "report" / "eval", cache_dir=out / "cache")
    metrics = {name: _metrics(results["models"][name]) for name in rows}
    samples, index = annotated_samples(sorted((world / "train").glob("*.tar"))[-1:], sidecars)
    probes = {name: probe(f"{name}={plan.model}:{ckpts[name]}", samples, index)
              for name in probe_rows if name in ckpts}
    text = _markdown(metrics, probes, plan)
    write_text(out / "report" / "study.json", json.dumps({"metrics": metrics, "probe": probes}, indent=2))
    write_text(out / "report" / "study.md", text)
    _plot(out / "report" / "probe.png", probes)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/study"))
    ap.add_argument("--world-seed", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(study(Plan(world_seed=a.world_seed, seeds=(a.seed,)), a.out))


if __name__ == "__main__":
    main()
