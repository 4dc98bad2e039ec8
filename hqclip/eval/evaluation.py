"""Evaluate several models side by side on every split found under a data folder: load and check
all models first, embed each model's images and texts once, then score every split."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hqclip.clip.load import Loaded, ModelSpec, check_compatible, load
from hqclip.errors import UserError
from hqclip.eval import metrics
from hqclip.eval.embed import Embedder, clear_memo
from hqclip.eval.perturb import aro_order, world_vocab
from hqclip.eval.splits import Skips, Split, eval_dir, load_splits

log = logging.getLogger("hqclip.eval")

ModelsArg = Mapping[str, tuple] | Sequence[str | ModelSpec | Loaded]


def prompt(template: str, classname: str) -> str:
    """Fill a '{}' (the world's) or '{c}' (CLIP_benchmark's) template."""
    return template.format(c=classname) if "{c}" in template else template.format(classname)


def resolve_models(models: ModelsArg, device: str = "cpu", seed: int = 0) -> list[Loaded]:
    """Specs are loaded; (model, preprocess, tokenizer) tuples keyed by label are wrapped; every
    model's tokenizer is checked before any work."""
    if isinstance(models, Mapping):
        out = [Loaded(label, *t[:3], spec=label) for label, t in models.items()]
        for m in out:
            m.model.eval()
            check_compatible(m)
    else:
        out = [
            m
            if isinstance(m, Loaded)
            else load(m if isinstance(m, ModelSpec) else ModelSpec.parse(m), device, seed)
            for m in models
        ]
    labels = [m.label for m in out]
    if len(set(labels)) != len(labels):
        raise UserError(f"duplicate model labels {labels}; give each a LABEL= prefix")
    return out


def load_all_splits(data_root: str | Path, skips: Skips) -> list[Split]:
    """The splits on disk plus ARO order sensitivity derived from the retrieval captions."""
    splits = load_splits(data_root, skips)
    retrieval = [s for s in splits if s.kind == "retrieval"]
    if retrieval:
        splits.append(aro_order(retrieval[0], *world_vocab(eval_dir(data_root))))
    return splits


def _texts(split: Split) -> list[str]:
    if split.kind == "classification":
        return [prompt(t, c) for c in split.classnames for t in split.templates]
    return [t for it in split.items for t in it.texts]


def score_split(split: Split, img, txt) -> dict:
    """Metrics of one split given lookups path->embedding and text->embedding (torch tensors)."""
    import torch

    items = split.items
    if split.kind == "classification":
        protos = metrics.classifier(txt(_texts(split)).view(len(split.classnames), len(split.templates), -1))
        logits = 100.0 * img([it.images[0] for it in items]) @ protos
        labels = torch.tensor([it.label for it in items])
        res = metrics.classification(logits, labels)
        held = torch.isin(
            labels, torch.tensor([split.classnames.index(c) for c in split.heldout], dtype=torch.long)
        )
        for name, mask in (("heldout", held), ("seen", ~held)) if split.heldout else ():
            if mask.any():
                res[name] = metrics.classification(logits[mask], labels[mask])
        return res
    if split.kind == "retrieval":
        owner = torch.tensor([i for i, it in enumerate(items) for _ in it.texts])
        return metrics.retrieval(img([it.images[0] for it in items]), txt(_texts(split)), owner)
    if split.kind == "choice":
        return metrics.choice(img([it.images[0] for it in items]), [txt(list(it.texts)) for it in items])
    if split.kind == "group":
        return metrics.group(
            img([p for it in items for p in it.images]).view(len(items), 2, -1),
            txt(_texts(split)).view(len(items), 2, -1),
        )
    raise ValueError(split.kind)


def _drop_unreadable(splits: list[Split], bad: set[Path], skips: Skips, reported: set) -> list[Split]:
    out = []
    for s in splits:
        keep = []
        for it in s.items:
            missing = [p for p in it.images if p in bad]
            if not missing:
                keep.append(it)
            elif (it.src, it.entry) not in reported:
                reported.add((it.src, it.entry))
                skips.skip(it.src, it.entry, "undecodable_image", str(missing[0]))
        out.append(dataclasses.replace(s, items=keep))
    return out


def evaluate_model(
    m: Loaded, splits: list[Split], embedder: Embedder, skips: Skips, reported: set | None = None
) -> dict:
    """All metrics of one model: {task: metrics} and {"sugarcrepe": {subset: metrics, "mean": x}}."""
    import torch

    paths = list(dict.fromkeys(p for s in splits for it in s.items for p in it.images))
    texts = list(dict.fromkeys(t for s in splits for t in _texts(s)))
    image_emb, text_emb = embedder.images(paths), embedder.texts(texts)
    row = {p: i for i, p in enumerate(paths)}
    trow = {t: i for i, t in enumerate(texts)}
    bad = {p for p, ok in zip(paths, np.isfinite(image_emb).all(axis=1)) if not ok}
    splits = _drop_unreadable(splits, bad, skips, reported if reported is not None else set())
    image_t, text_t = torch.from_numpy(image_emb), torch.from_numpy(text_emb)

    def img(ps):
        return image_t[[row[p] for p in ps]]

    def txt(ts):
        return text_t[[trow[t] for t in ts]]

    out: dict = {}
    for s in splits:
        if not s.items:
            log.warning("%s/%s: no usable entries; skipped", s.task, s.name)
            continue
        res = score_split(s, img, txt)
        if s.task == "sugarcrepe":
            out.setdefault("sugarcrepe", {})[s.name] = res
        else:
            out[s.task] = res
    if "sugarcrepe" in out:
        accs = [v["acc"] for v in out["sugarcrepe"].values()]
        out["sugarcrepe"]["mean"] = sum(accs) / len(accs)
    return out


def evaluate(
    models: ModelsArg,
    data_root: str | Path | None,
    out_dir: str | Path | None = None,
    *,
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    workers: int = 0,
    seed: int = 0,
    clip_benchmark: Sequence[str] = (),
    clip_benchmark_root: str = "clip_benchmark_data/{dataset_cleaned}",
) -> dict:
    """Evaluate `models` ([LABEL=]NAME[:CHECKPOINT] specs, Loaded, or {label: (model, preprocess,
    tokenizer)}) on the splits under `data_root` and on CLIP_benchmark datasets; write the report
    to `out_dir` when given. `cache_dir=None` disables the embedding cache."""
    skips = Skips()
    splits = load_all_splits(data_root, skips) if data_root is not None else []
    loaded = resolve_models(models, device, seed)
    results: dict = {"data": str(data_root) if data_root is not None else None, "models": {}}
    reported: set = set()
    try:  # the models share decoded images and token ids (the memo), this call only
        for m in loaded:
            entry: dict = {"spec": m.spec}
            if splits:
                embedder = Embedder(m, batch_size, Path(cache_dir) if cache_dir else None, workers)
                entry.update(evaluate_model(m, splits, embedder, skips, reported))
            if clip_benchmark:
                from hqclip.eval.cb_interop import run_clip_benchmark

                entry["clip_benchmark"] = run_clip_benchmark(
                    m, clip_benchmark, clip_benchmark_root, batch_size, workers
                )
            results["models"][m.label] = entry
    finally:
        clear_memo()
    results["skipped"] = {"counts": skips.as_dict(), "entries": skips.items}
    if out_dir is not None:
        from hqclip.eval.eval_report import write_report

        write_report(results, out_dir)
    return results
