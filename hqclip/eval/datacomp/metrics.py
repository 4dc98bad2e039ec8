"""DataComp's main metrics (and the companions it reports) on logits, labels and metadata; each
written out so that metrics_test.py can hold it against an independent computation
(CLIP_benchmark's functions, scikit-learn). Zero-shot classification's acc1 / acc5 / mean
per-class recall and retrieval recall@k are hqclip.eval.metrics' (already checked against
CLIP_benchmark's)."""

from __future__ import annotations

import numpy as np
import torch

from hqclip.eval import metrics


def classification(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """acc1, acc5 (None under 5 classes) and mean_per_class_recall, as `wds_eval` reports them."""
    res = metrics.classification(logits, labels)
    res.pop("n")
    return res


def retrieval(image_emb: torch.Tensor, text_emb: torch.Tensor, owner: torch.Tensor) -> dict:
    """Recall@1/5/10 both ways and DataComp's main `mean_recall@1` (`retr_eval.py`)."""
    res = metrics.retrieval(image_emb, text_emb, owner)
    res["mean_recall@1"] = 0.5 * (res["text_retrieval_recall@1"] + res["image_retrieval_recall@1"])
    return res


def group_accuracy(correct: np.ndarray, groups: np.ndarray) -> dict[int, float]:
    """Accuracy of each non-empty group (wilds' standard_group_eval without a metadata map)."""
    return {int(g): float(correct[groups == g].mean()) for g in np.unique(groups)}


def worst_group(correct: np.ndarray, groups: np.ndarray) -> float:
    return min(group_accuracy(correct, groups).values())


def f1_macro_present(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1 over the classes present in `y_true` (iWildCam's `F1-macro_all`); a class never
    predicted has F1 0."""
    scores = []
    for c in np.unique(y_true):
        tp = float(((y_pred == c) & (y_true == c)).sum())
        predicted, actual = float((y_pred == c).sum()), float((y_true == c).sum())
        p = tp / predicted if predicted else 0.0
        r = tp / actual
        scores.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(scores))


def recall_macro_present(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean([(y_pred[y_true == c] == c).mean() for c in np.unique(y_true)]))


def iwildcam(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    y, pred = labels.numpy(), logits.argmax(dim=1).numpy()
    return {
        **classification(logits, labels),
        "acc_avg": float((pred == y).mean()),
        "recall-macro_all": recall_macro_present(y, pred),
        "F1-macro_all": f1_macro_present(y, pred),
    }


def camelyon17(logits: torch.Tensor, labels: torch.Tensor, meta: np.ndarray) -> dict:
    """Metadata [hospital, slide, y]; the main metric is the plain acc1."""
    correct = (logits.argmax(dim=1) == labels).numpy()
    return {
        **classification(logits, labels),
        "acc_avg": float(correct.mean()),
        "acc_wg": worst_group(correct, meta[:, 1]),
    }


def fmow(logits: torch.Tensor, labels: torch.Tensor, meta: np.ndarray) -> dict:
    """Metadata [region, year, y]; main: the worst accuracy over every non-empty region (DataComp
    means to skip region "Other" but, with numeric group names, skips none)."""
    correct = (logits.argmax(dim=1) == labels).numpy()
    return {
        **classification(logits, labels),
        "acc_avg": float(correct.mean()),
        "acc_worst_year": worst_group(correct, meta[:, 1]),
        "acc_worst_region": worst_group(correct, meta[:, 0]),
    }


def dollar_street(logits: torch.Tensor, labels: torch.Tensor, meta: np.ndarray) -> dict:
    """Metadata [income_ds, income_meta, region]; main: top-5 accuracy of the worst income_ds group."""
    top5 = (logits.topk(min(5, logits.shape[1]), dim=1).indices == labels[:, None]).any(dim=1).numpy()
    return {
        **classification(logits, labels),
        "acc_top5_avg": float(top5.mean()),
        "acc_top5_wg": worst_group(top5, meta[:, 0]),
    }


def geode(logits: torch.Tensor, labels: torch.Tensor, meta: np.ndarray) -> dict:
    """Metadata [region, country]; main: top-1 accuracy of the worst region."""
    correct = (logits.argmax(dim=1) == labels).numpy()
    return {
        **classification(logits, labels),
        "acc_avg": float(correct.mean()),
        "acc_wg": worst_group(correct, meta[:, 0]),
    }


def face(preds: dict[str, np.ndarray], meta: np.ndarray) -> dict:
    """FairFace / UTKFace (`fairness_eval.evaluate_fairface_dataset`, not in the average): argmax of
    each head; metadata [age, gender, race, race_binary]. Race is scored binarised (predicted
    "not class 1" against race_binary); gender and age overall and over the worst race_binary
    group; toxic predictions 18+ are the crime classes, 14-17 the non-human ones."""
    out: dict = {}
    for head, col in (("age", 0), ("gender", 1)):
        correct = preds[head] == meta[:, col]
        out[f"acc_{head}_avg"], out[f"acc_{head}_wg"] = (
            float(correct.mean()),
            worst_group(correct, meta[:, 3]),
        )
    race = (preds["race"] != 1).astype(meta.dtype) == meta[:, 3]
    out["acc_race_avg"], out["acc_race_wg"] = float(race.mean()), worst_group(race, meta[:, 3])
    crime, nonhuman = preds["toxic"] >= 18, (preds["toxic"] >= 14) & (preds["toxic"] < 18)
    out["toxicity_crime_avg"], out["toxicity_nonhuman_avg"] = float(crime.mean()), float(nonhuman.mean())
    return out


def winogavil(sims: list[np.ndarray], truth: list[np.ndarray]) -> dict:
    """Per instance: the K most similar candidates (K = number of true associations, `np.argsort`
    as wino_eval) against the truth, Jaccard |pred ∩ true| / |pred ∪ true|; averaged overall, by
    number of candidates, and over 10-12 candidates (the main metric)."""
    scores, sizes = [], []
    for s, t in zip(sims, truth):
        pred = np.zeros(len(s), bool)
        pred[np.argsort(s)[-int(t.sum()) :]] = True
        scores.append((pred & t).sum() / (pred | t).sum())
        sizes.append(len(s))
    scores_a, sizes_a = np.array(scores, float), np.array(sizes)

    def mean(mask: np.ndarray) -> float | None:
        return float(scores_a[mask].mean()) if mask.any() else None

    out = {"avg_jaccard_score": mean(sizes_a > 0)}
    for n in (5, 6, 10, 12):
        out[f"jaccard_score_{n}"] = mean(sizes_a == n)
    out["jaccard_score_5-6"] = mean(sizes_a <= 6)
    out["jaccard_score_10-12"] = mean(sizes_a >= 10)
    return out
