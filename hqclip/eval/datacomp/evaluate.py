"""One DataComp task for one model: read it (`wds`, `hf`), embed it, score it (`metrics`).

Precision follows DataComp on CUDA: zero-shot class prototypes are encoded under fp16 autocast and
classification images in fp32 (`zero_shot_classifier(amp=True)`, `run_classification(amp=False)`);
retrieval and WinoGAViL run both towers under autocast (`zsr.evaluate`, `wino_eval`). On CPU
everything is fp32 (DataComp's autocast is CUDA-only there)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch

from hqclip.clip.load import Loaded, device_of
from hqclip.errors import UserError
from hqclip.eval.datacomp import hf, layout
from hqclip.eval.datacomp import metrics as dm
from hqclip.eval.datacomp import tasks as T
from hqclip.eval.datacomp.wds import batches
from hqclip.eval.embed import encode_images, encode_texts
from hqclip.eval.evaluation import prompt
from hqclip.eval.metrics import classifier
from hqclip.progress import bar


def autocast(m: Loaded, on: bool = True):
    """fp16 autocast on CUDA where DataComp uses it; nothing elsewhere."""
    if on and device_of(m.model).type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _texts(m: Loaded, texts: list[str], batch_size: int) -> torch.Tensor:
    """Embeddings of `texts`, under fp16 autocast on CUDA as DataComp encodes every text."""
    with autocast(m):
        return torch.from_numpy(encode_texts(m, m.tokenizer(texts), max(batch_size, 256)))


class Prototypes:
    """Zero-shot class prototypes of one model, computed once per (classnames, templates): the
    ImageNet variants that share a class list and the rerun of a task reuse them."""

    def __init__(self, m: Loaded, batch_size: int):
        self.m, self.batch_size, self._done = m, batch_size, {}

    def __call__(self, classnames: list[str], templates: list[str]) -> torch.Tensor:
        key = (tuple(classnames), tuple(templates))
        if key not in self._done:
            emb = _texts(self.m, [prompt(t, c) for c in classnames for t in templates], self.batch_size)
            self._done[key] = classifier(emb.view(len(classnames), len(templates), -1))
        return self._done[key]


def _embed_wds(m: Loaded, task: T.Task, folder: Path, data_dir: Path, batch_size: int, workers: int):
    """(image embeddings, labels, metadata or None) of every sample of a wds folder."""
    embs, labels, metas = [], [], []
    refetch = layout.fetch_command(data_dir, task)
    shown = bar(desc=f"{m.label}: {task.name}", unit="img")
    for b in batches(layout.shards(folder), m.preprocess, batch_size, workers, task.kind != T.FACE, refetch):
        embs.append(encode_images(m, b["images"]))
        labels.append(b["cls"])
        metas.append(b["npy"])
        shown.update(len(b["cls"]))
    shown.close()
    if not embs:
        raise UserError(f"{folder}: its shards hold no samples; fetch it again: {refetch}")
    meta = None if any(x is None for x in metas) else np.concatenate(metas)
    if task.kind not in (T.CLASSIFICATION, T.IWILDCAM) and meta is None:
        raise UserError(
            f"{folder}: samples without .npy metadata, which {task.name} needs; fetch it again: {refetch}"
        )
    return torch.from_numpy(np.concatenate(embs)), torch.cat(labels), meta


def _heads(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """FairFace/UTKFace: `objective:name` lines of both files -> {objective: (classnames, templates)}."""
    heads: dict[str, tuple[list[str], list[str]]] = {}
    for i, name in enumerate((layout.CLASSNAMES, layout.TEMPLATES)):
        for line in layout.read_lines(folder / name):
            head, _, text = line.partition(":")
            heads.setdefault(head, ([], []))[i].append(text)
    return heads


def _classification(m, task, folder, data_dir, batch_size, workers, protos: Prototypes) -> dict:
    img, labels, meta = _embed_wds(m, task, folder, data_dir, batch_size, workers)
    if task.kind == T.FACE:
        preds = {
            head: (100.0 * img @ protos(names, templates)).argmax(dim=1).numpy()
            for head, (names, templates) in _heads(folder).items()
        }
        return dm.face(preds, meta)
    names, templates = (
        layout.read_lines(folder / layout.CLASSNAMES),
        layout.read_lines(folder / layout.TEMPLATES),
    )
    logits = 100.0 * img @ protos(names, templates)
    if task.kind == T.CLASSIFICATION:
        return dm.classification(logits, labels)
    if task.kind == T.IWILDCAM:
        return dm.iwildcam(logits, labels)
    return {
        T.CAMELYON17: dm.camelyon17,
        T.FMOW: dm.fmow,
        T.DOLLAR_STREET: dm.dollar_street,
        T.GEODE: dm.geode,
    }[task.kind](logits, labels, meta)


def _embed_refs(
    m: Loaded, refs: list, desc: str, batch_size: int, workers: int, folder: Path
) -> torch.Tensor:
    from torch.utils.data import DataLoader

    out = []
    loader = DataLoader(hf.Images(refs, m.preprocess), batch_size, num_workers=workers, collate_fn=hf.collate)
    for b in bar(loader, desc=desc, unit="batch"):
        if "error" in b:
            raise UserError(f"{folder}: image {b['error']}; fetch the set again")
        with autocast(m):
            out.append(encode_images(m, b["images"]))
    return torch.from_numpy(np.concatenate(out))


def _retrieval(m, task, folder, batch_size, workers) -> dict:
    data = hf.read_retrieval(folder)
    images = _embed_refs(m, data.images, f"{m.label}: {task.name}", batch_size, workers, folder)
    owner = torch.tensor([i for i, caps in enumerate(data.captions) for _ in caps])
    return dm.retrieval(images, _texts(m, [c for caps in data.captions for c in caps], batch_size), owner)


def cue_prompt(cue: str) -> str:
    cue = cue.lower()
    return f"An {cue}" if cue[:1] in "aeiou" and cue else f"A {cue}"


def _winogavil(m, task, folder, batch_size, workers) -> dict:
    data = hf.read_winogavil(folder)
    names = list(data.images)
    emb = _embed_refs(
        m, [data.images[n] for n in names], f"{m.label}: {task.name}", batch_size, workers, folder
    )
    row = {n: i for i, n in enumerate(names)}
    cues = _texts(m, [cue_prompt(c) for c in data.cues], batch_size)
    sims = [(emb[[row[c] for c in cands]] @ cues[i]).numpy() for i, cands in enumerate(data.candidates)]
    truth = [np.isin(cands, assoc) for cands, assoc in zip(data.candidates, data.associations)]
    return dm.winogavil(sims, truth)


def evaluate_task(
    m: Loaded, task: T.Task, data_dir: Path, batch_size: int, workers: int, protos: Prototypes
) -> dict:
    """The task's metrics with DataComp's `main_metric` added (None for FairFace/UTKFace)."""
    folder = data_dir / task.folder
    with torch.no_grad():
        if task.kind == T.RETRIEVAL:
            res = _retrieval(m, task, folder, batch_size, workers)
        elif task.kind == T.WINOGAVIL:
            res = _winogavil(m, task, folder, batch_size, workers)
        else:
            res = _classification(m, task, folder, data_dir, batch_size, workers, protos)
    res["main_metric"] = res.get(task.metric) if task.metric else None
    return res
