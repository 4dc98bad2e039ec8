"""Parity: CLIP_benchmark's own evaluators, fed the very embeddings our run used (through a lookup
"model"), give the same numbers as hqclip.eval on every task."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from clip_benchmark.datasets.builder import image_captions_collate_fn
from clip_benchmark.metrics import image_caption_selection, zeroshot_classification, zeroshot_retrieval
from sklearn.metrics import balanced_accuracy_score
from torch.utils.data import DataLoader

from hqclip.eval.embed import Embedder
from hqclip.eval.evaluation import evaluate_model, load_all_splits, prompt, resolve_models
from hqclip.eval.splits import Skips


class Recording(Embedder):
    """Keeps every embedding it hands out, keyed by image path / text."""

    def images(self, paths):
        out = super().images(paths)
        self.image_table = dict(zip(paths, torch.from_numpy(out)))
        return out

    def texts(self, texts):
        out = super().texts(texts)
        self.text_table = dict(zip(texts, torch.from_numpy(out)))
        return out


class Lookup(torch.nn.Module):
    """A CLIP-like model whose 'images' are row indices and whose tokens are text indices."""

    def __init__(self, rec: Recording):
        super().__init__()
        self.paths, self.texts = list(rec.image_table), list(rec.text_table)
        self.img = torch.stack(list(rec.image_table.values()))
        self.txt = torch.stack(list(rec.text_table.values()))
        self.text_id = {t: i for i, t in enumerate(self.texts)}
        self.path_id = {p: i for i, p in enumerate(self.paths)}

    def encode_image(self, x):
        return self.img[x.reshape(len(x), -1)[:, 0].long()]

    def encode_text(self, ids):
        return self.txt[ids[:, 0]]

    def tokenize(self, texts):
        return torch.tensor([[self.text_id[t]] for t in texts])

    def image(self, path):
        return torch.full((1, 1, 1), float(self.path_id[path]))


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, rows, classes=None):
        self.rows, self.classes = rows, classes

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def close(a: dict, b: dict, keys) -> None:
    for k in keys:
        assert a[k] == pytest.approx(b[k], abs=1e-6), k


def _rel(path) -> str:
    """The image's path below the world's tmp dir, so the noise is the same on every run."""
    return "/".join(Path(path).parts[-3:])


class Synthetic(Recording):
    """Random text embeddings; each image near the mean of its true texts, plus noise, so that
    every metric lands strictly between 0 and 1 (a random-weight model scores mostly 0)."""

    def __init__(self, m, splits, noise=2.0):
        super().__init__(m)
        self.noise, self.owners = noise, {}
        for s in splits:
            for it in s.items:
                true = (
                    [prompt(t, s.classnames[it.label]) for t in s.templates]
                    if s.kind == "classification"
                    else it.texts[:1]
                    if s.kind == "choice"
                    else it.texts
                )
                for i, p in enumerate(it.images):
                    self.owners.setdefault(p, []).extend(true[i : i + 1] if s.kind == "group" else true)

    def _vec(self, key: str) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16))
        return torch.randn(16, generator=g)

    def _encode_texts(self, texts, *_):
        return torch.nn.functional.normalize(torch.stack([self._vec(t) for t in texts]), dim=-1).numpy()

    def _encode_images(self, paths, *_):
        rows = [
            torch.stack([self._vec(t) for t in self.owners[p]]).mean(0) + self.noise * self._vec(_rel(p))
            for p in paths
        ]
        return torch.nn.functional.normalize(torch.stack(rows), dim=-1).numpy()


@pytest.fixture(scope="module")
def model(tiny_model_name):
    return resolve_models([tiny_model_name])[0]


def test_parity_on_model_embeddings(world, model):
    skips = Skips()
    splits = {s.name: s for s in load_all_splits(world, skips)}
    rec = Recording(model, batch_size=7)  # odd batches: our metrics must not depend on batching
    check_parity(evaluate_model(model, list(splits.values()), rec, skips), rec, splits)


def test_parity_on_informative_embeddings(world, model):
    skips = Skips()
    splits = {s.name: s for s in load_all_splits(world, skips)}
    rec = Synthetic(model, splits.values())
    ours = evaluate_model(model, list(splits.values()), rec, skips)
    for v in (
        ours["zeroshot"]["acc1"],
        ours["retrieval"]["text_retrieval_recall@1"],
        ours["retrieval"]["image_retrieval_recall@1"],
        ours["sugarcrepe"]["mean"],
    ):
        assert 0 < v < 1
    check_parity(ours, rec, splits)


def _near_ties(lk: Lookup, items, tol: float = 1e-5) -> int:
    n = 0
    for it in items:
        image = lk.img[lk.path_id[it.images[0]]]
        s = torch.stack([lk.txt[lk.text_id[t]] @ image for t in it.texts])
        n += int((s[0] - s[1:].max()).abs() < tol)
    return n


def check_parity(ours: dict, rec: Recording, splits: dict) -> None:
    lk = Lookup(rec)
    kw = dict(device="cpu", amp=False)

    zs = splits["zeroshot"]
    loader = DataLoader(
        ListDataset([(lk.image(it.images[0]), it.label) for it in zs.items], zs.classnames), batch_size=5
    )
    templates = [t.replace("{}", "{c}") for t in zs.templates]
    # CLIP_benchmark's evaluate() would end in its accuracy(), which NumPy >= 2.4 breaks
    # (float() of a 1-element array); so: its classifier and logits, its recall (sklearn), top-k
    # as its accuracy() defines it
    protos = zeroshot_classification.zero_shot_classifier(lk, lk.tokenize, zs.classnames, templates, **kw)
    logits, target = zeroshot_classification.run_classification(lk, protos, loader, **kw)
    top = logits.topk(5, 1, True, True)[1].t() == target.view(1, -1)
    cb = {
        "acc1": top[:1].float().sum().item() / len(target),
        "acc5": top.float().sum().item() / len(target),
        "mean_per_class_recall": balanced_accuracy_score(target, logits.argmax(axis=1)),
    }
    close(ours["zeroshot"], cb, ["acc1", "acc5", "mean_per_class_recall"])

    rows = [(lk.image(it.images[0]), list(it.texts)) for it in splits["retrieval"].items]
    cb = zeroshot_retrieval.evaluate(
        lk,
        DataLoader(ListDataset(rows), batch_size=5, collate_fn=image_captions_collate_fn),
        lk.tokenize,
        recall_k_list=[1, 5, 10],
        **kw,
    )
    close(ours["retrieval"], cb, [f"{d}_retrieval_recall@{k}" for d in ("image", "text") for k in (1, 5, 10)])

    for name in ("replace_att", "swap_att", "order"):
        rows = [(lk.image(it.images[0]), list(it.texts)) for it in splits[name].items]
        # ARO items have 1-4 negatives, and CLIP_benchmark needs equal counts within a batch
        cb = image_caption_selection.evaluate(
            lk,
            DataLoader(ListDataset(rows), batch_size=1, collate_fn=image_captions_collate_fn),
            lk.tokenize,
            **kw,
        )
        got = ours["aro_order"] if name == "order" else ours["sugarcrepe"][name]
        # a near-tie (random weights, captions of the same words) may fall either way with the
        # summation order of the machine's BLAS: those items, and only those, may differ
        slack = _near_ties(lk, splits[name].items) / len(rows)
        assert abs(got["acc"] - cb["acc"]) <= slack + 1e-6, (name, got["acc"], cb["acc"], slack)

    rows = [
        (torch.stack([lk.image(p) for p in it.images]), list(it.texts)) for it in splits["winoground"].items
    ]
    cb = image_caption_selection.evaluate(
        lk,
        DataLoader(ListDataset(rows), batch_size=3, collate_fn=image_captions_collate_fn),
        lk.tokenize,
        **kw,
    )
    got = ours["winoground"]
    assert (got["text"], got["image"], got["group"]) == pytest.approx(
        (cb["text_acc"], cb["image_acc"], cb["acc"]), abs=1e-6
    )
