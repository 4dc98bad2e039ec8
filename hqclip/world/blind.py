"""The blind test: can a model that never sees the image tell a true text from its negative?

SugarCrepe's check for its own benchmark, applied to the world's training negatives and to every
compositional subset. A pair is (positive, negative, kind). A text-only classifier is fitted on the
pairs of one half and asked, on the other half, which text of each pair is the positive; a kind
whose pairs it gets right more than 55 % of the time teaches (or rewards) a text shortcut instead of
looking. Two classifiers, both logistic regression on the difference of the two texts' features:
bag of word 1–3-grams (the fitted baseline), and a trained CLIP text tower's embeddings (what HNI's
loss can exploit). A training pair is what HNI contrasts: the whole description against the same
description with one sentence swapped for its negative; tag pairs are what the STC text head
contrasts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from hqclip.world.kinds import edit_kind

LIMIT = 0.55
Pair = tuple[str, str, str]  # (positive, negative, kind)


def record_pairs(records: Iterable[dict]) -> list[Pair]:
    """HNI's pairs (kind = the swapped sentence's edit) and the tag pairs (kind 'tag:<edit>')."""
    out: list[Pair] = []
    for rec in records:
        desc, neg = rec["desc"], rec["neg_desc"]
        whole = " ".join(desc)
        for i in range(len(desc)):
            kind = edit_kind(desc[i], neg[i]) or "other"
            out.append((whole, " ".join(neg[k] if k == i else desc[k] for k in range(len(desc))), kind))
        for t, n in zip(rec["tags"], rec["neg_tags"]):
            out.append((t, n, f"tag:{edit_kind(t, n) or 'other'}"))
    return out


def benchmark_pairs(eval_dir: str | Path) -> list[Pair]:
    """Every SugarCrepe-format file under `eval_dir/sugarcrepe` (kind = the file's subset)."""
    out: list[Pair] = []
    for path in sorted(Path(eval_dir, "sugarcrepe").glob("*.json")):
        for entry in json.loads(path.read_text()).values():
            out.append((entry["caption"], entry["negative_caption"], path.stem))
    return out


Featurize = Callable[[list[str]], "np.ndarray"]


def bow(texts: list[str]) -> Featurize:
    """Word 1–3-gram counts over the vocabulary of `texts`."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(ngram_range=(1, 3), token_pattern=r"[a-z]+", lowercase=True)
    vec.fit(texts)
    return vec.transform


def embeddings(model, tokenizer, batch: int = 256) -> Featurize:
    """A CLIP text tower's normalised embeddings."""
    import torch

    def featurize(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate(
                [
                    model.encode_text(tokenizer(texts[i : i + batch]), normalize=True).numpy()
                    for i in range(0, len(texts), batch)
                ]
            )

    return featurize


def accuracy(train: list[Pair], test: list[Pair], featurize: Featurize) -> dict[str, dict]:
    """Fit on `train` (each pair in both orders), score `test`: per kind, how often the positive
    gets the higher score (ties count half), with the number of test pairs."""
    from sklearn.linear_model import LogisticRegression

    def diffs(pairs: list[Pair]):
        return featurize([p for p, _, _ in pairs]) - featurize([n for _, n, _ in pairs])

    from scipy.sparse import issparse, vstack

    x = diffs(train)
    both = vstack([x, -x]) if issparse(x) else np.concatenate([x, -x])
    y = np.r_[np.ones(len(train)), np.zeros(len(train))]
    clf = LogisticRegression(max_iter=2000, fit_intercept=False).fit(both, y)
    margin = clf.decision_function(diffs(test))
    hits = np.where(margin > 0, 1.0, np.where(margin == 0, 0.5, 0.0))
    kinds = np.array([k for _, _, k in test])
    out = {"all": {"acc": float(hits.mean()), "n": len(test)}}
    for k in sorted(set(kinds.tolist())):
        out[k] = {"acc": float(hits[kinds == k].mean()), "n": int((kinds == k).sum())}
    return out


def two_fold(
    pairs: list[Pair],
    featurize_from: Callable[[list[str]], Featurize] | Featurize,
    seed: int = 0,
    fit_vocab: bool = False,
) -> dict[str, dict]:
    """Accuracy on every pair, each half scored by a classifier fitted on the other half."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    halves = [[pairs[i] for i in order[::2]], [pairs[i] for i in order[1::2]]]
    parts = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        f = featurize_from([t for p in train for t in p[:2]]) if fit_vocab else featurize_from
        parts.append(accuracy(train, test, f))
    out = {}
    for k in set(parts[0]) | set(parts[1]):
        got = [p[k] for p in parts if k in p]
        n = sum(g["n"] for g in got)
        out[k] = {"acc": sum(g["acc"] * g["n"] for g in got) / n, "n": n}
    return dict(sorted(out.items()))


def blind_test(
    records: list[dict], eval_dir: str | Path | None = None, text_model: tuple | None = None
) -> dict[str, dict[str, dict]]:
    """{"training" | "benchmark": {kind: {"bow": {acc, n}, "embedding": {acc, n}, "pass"}}}.
    `text_model` is (model, tokenizer) of a trained CLIP; without it only the bag of n-grams runs."""
    groups = {"training": record_pairs(records)}
    if eval_dir is not None:
        groups["benchmark"] = benchmark_pairs(eval_dir)
    report: dict[str, dict[str, dict]] = {}
    for name, pairs in groups.items():
        if not pairs:
            continue
        scores = {"bow": two_fold(pairs, bow, fit_vocab=True)}
        if text_model is not None:
            scores["embedding"] = two_fold(pairs, embeddings(*text_model))
        report[name] = {
            k: {
                **{c: s[k] for c, s in scores.items()},
                "pass": all(s[k]["acc"] <= LIMIT for s in scores.values()),
            }
            for k in scores["bow"]
        }
    return report


def markdown(report: dict[str, dict[str, dict]]) -> str:
    lines = ["| pairs | kind | n | bag of n-grams | text tower | ≤ 55 % |", "|---|---|---|---|---|---|"]
    for name, kinds in report.items():
        for k, r in kinds.items():
            emb = f"{100 * r['embedding']['acc']:.1f}" if "embedding" in r else "–"
            lines.append(
                f"| {name} | {k} | {r['bow']['n']} | {100 * r['bow']['acc']:.1f} | {emb} | "
                f"{'yes' if r['pass'] else 'NO'} |"
            )
    return "\n".join(lines) + "\n"
