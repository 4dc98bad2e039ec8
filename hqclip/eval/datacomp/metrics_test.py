"""Each DataComp metric against an independent computation: CLIP_benchmark's recall_at_k,
scikit-learn's balanced accuracy, F1 and Jaccard, and the worst-group formulas written out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clip_benchmark.metrics.zeroshot_retrieval import recall_at_k
from sklearn.metrics import balanced_accuracy_score, f1_score, jaccard_score, recall_score

from hqclip.eval.datacomp import metrics as dm

rng = np.random.default_rng(0)


def logits_labels(n=60, c=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, c - 1, (n,), generator=g)  # the last class never occurs in the labels
    return torch.randn(n, c, generator=g), labels


def worst(correct: np.ndarray, groups: np.ndarray) -> float:
    accs = []
    for g in set(groups.tolist()):
        members = [c for c, gg in zip(correct, groups) if gg == g]
        accs.append(sum(members) / len(members))
    return min(accs)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_classification_acc_and_mean_per_class_recall():
    logits, labels = logits_labels()
    res = dm.classification(logits, labels)
    pred = logits.argmax(1)
    assert res["acc1"] == pytest.approx(sum(int(p == y) for p, y in zip(pred, labels)) / len(labels))
    assert res["acc5"] == pytest.approx(
        np.mean([int(y in row) for row, y in zip(logits.topk(5).indices, labels)])
    )
    assert res["mean_per_class_recall"] == pytest.approx(balanced_accuracy_score(labels, pred))
    assert dm.classification(logits[:, :4], labels.clamp(max=3))["acc5"] is None


def test_iwildcam_f1_over_present_classes():
    logits, labels = logits_labels(c=9)
    res = dm.iwildcam(logits, labels)
    pred = logits.argmax(1).numpy()
    present = np.unique(labels.numpy())
    assert res["F1-macro_all"] == pytest.approx(f1_score(labels, pred, average="macro", labels=present))
    assert res["recall-macro_all"] == pytest.approx(
        recall_score(labels, pred, average="macro", labels=present)
    )


def test_worst_group_metrics():
    logits, labels = logits_labels(n=80)
    meta = np.stack([rng.integers(0, 5, 80), rng.integers(0, 3, 80), labels.numpy()], axis=1)
    correct = (logits.argmax(1) == labels).numpy()
    top5 = np.array([int(y in row) for row, y in zip(logits.topk(5).indices, labels)])
    fm = dm.fmow(logits, labels, meta)
    assert fm["acc_worst_region"] == pytest.approx(worst(correct, meta[:, 0]))
    assert fm["acc_worst_year"] == pytest.approx(worst(correct, meta[:, 1]))
    assert dm.geode(logits, labels, meta)["acc_wg"] == pytest.approx(worst(correct, meta[:, 0]))
    ds = dm.dollar_street(logits, labels, meta)
    assert ds["acc_top5_wg"] == pytest.approx(worst(top5, meta[:, 0]))
    assert ds["acc_top5_avg"] == pytest.approx(top5.mean())
    cam = dm.camelyon17(logits, labels, meta)
    assert cam["acc1"] == pytest.approx(correct.mean()) and cam["acc_wg"] == pytest.approx(
        worst(correct, meta[:, 1])
    )


def test_worst_region_counts_every_nonempty_region():
    """A 1-image region decides the minimum, as DataComp's FMoW (issue #61); empty ids do not count."""
    logits = torch.tensor([[1.0, 0.0]] * 5)
    labels = torch.tensor([0, 0, 0, 0, 1])
    meta = np.array([[0, 0, 0], [0, 0, 0], [2, 0, 0], [2, 0, 0], [7, 0, 1]])
    assert dm.fmow(logits, labels, meta)["acc_worst_region"] == 0.0
    assert dm.fmow(logits[:4], labels[:4], meta[:4])["acc_worst_region"] == 1.0


def test_retrieval_against_clip_benchmark():
    g = torch.Generator().manual_seed(1)
    images = torch.nn.functional.normalize(torch.randn(12, 8, generator=g), dim=-1)
    texts = torch.nn.functional.normalize(torch.randn(60, 8, generator=g), dim=-1)
    owner = torch.arange(12).repeat_interleave(5)
    res = dm.retrieval(images, texts, owner)
    scores = texts @ images.T
    positive = torch.zeros(60, 12, dtype=torch.bool)
    positive[torch.arange(60), owner] = True
    for k in (1, 5, 10):
        assert res[f"image_retrieval_recall@{k}"] == pytest.approx(
            (recall_at_k(scores, positive, k) > 0).float().mean()
        )
        assert res[f"text_retrieval_recall@{k}"] == pytest.approx(
            (recall_at_k(scores.T, positive.T, k) > 0).float().mean()
        )
    assert res["mean_recall@1"] == pytest.approx(
        0.5 * (res["image_retrieval_recall@1"] + res["text_retrieval_recall@1"])
    )


def test_winogavil_jaccard_against_sklearn():
    sims, truth = [], []
    for i in range(24):
        n = (5, 6, 10, 12)[i % 4]
        t = np.zeros(n, bool)
        t[rng.choice(n, 2 + i % 3, replace=False)] = True
        sims.append(rng.standard_normal(n))
        truth.append(t)
    res = dm.winogavil(sims, truth)
    per = []
    for s, t in zip(sims, truth):
        pred = np.zeros(len(s), int)
        pred[np.argsort(s)[-t.sum() :]] = 1
        per.append(jaccard_score(t.astype(int), pred))
    sizes = np.array([len(s) for s in sims])
    per = np.array(per)
    assert res["avg_jaccard_score"] == pytest.approx(per.mean())
    assert res["jaccard_score_10-12"] == pytest.approx(per[sizes >= 10].mean())
    assert res["jaccard_score_5-6"] == pytest.approx(per[sizes <= 6].mean())
    assert res["jaccard_score_12"] == pytest.approx(per[sizes == 12].mean())
