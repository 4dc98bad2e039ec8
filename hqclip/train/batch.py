"""Turn a list of decoded samples into the tensors one training step needs.

Everything random about a sample (text choice, swapped sentences, tags, crop) is seeded by
(seed, epoch, uid, key), so a batch is the same whichever worker or rank builds it and after a resume.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from hqclip.data.samples import Sample
from hqclip.schema import Record, item_key
from hqclip.train.texts import sample_texts


@dataclass
class TextSpec:
    text_mix: dict[str, float]
    neg_swap: int | None
    max_tags: int
    want_neg: bool  # HNI on: tokenize negatives
    want_tags: bool  # STC text head on: tokenize tags
    alt_neg: bool = False  # an alt-text positive's negative is the alt-text with a tag swapped


def sample_seed(*parts: Any) -> int:
    return int.from_bytes(
        hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "little"
    ) & ((1 << 63) - 1)


def collate(
    samples: list[Sample],
    recs: list[Record | None],
    spec: TextSpec,
    transform: Callable,
    tokenizer: Callable,
    vocab: dict[str, int] | None,
    seed: int,
    epoch: int,
) -> dict[str, Any]:
    """Batch dict from samples and their annotations (None: none): images, text, neg/neg_mask,
    tag_text/tag_owner/tag_label, lin_target/lin_mask, counts (fallback_alt, neg_truncated), uids."""
    images, pos, neg, owners, labels, tag_texts = [], [], [], [], [], []
    for i, (s, rec) in enumerate(zip(samples, recs)):
        rng = random.Random(sample_seed(seed, epoch, s.uid, s.key))
        p, n, tags, neg_tags = sample_texts(
            s.text, rec, rng, spec.text_mix, spec.neg_swap, spec.max_tags, spec.alt_neg
        )
        pos.append(p)
        neg.append(n)
        for t, nt in zip(tags, neg_tags):
            tag_texts += [t, nt]
            owners += [i, i]
            labels += [1.0, 0.0]
        # the CPU generator only: torch.manual_seed would also queue a lazy CUDA seeding call with
        # its stack trace per sample on a machine without CUDA (a third of this function's time)
        torch.default_generator.manual_seed(sample_seed(seed, epoch, s.uid, s.key, "crop"))
        images.append(transform(s.image))
    out: dict[str, Any] = {"images": torch.stack(images), "text": tokenizer(pos)}
    counts = {"fallback_alt": sum(r is None for r in recs), "neg_truncated": 0}
    if spec.want_neg:
        mask = torch.tensor([n is not None for n in neg])
        toks = tokenizer([n or "" for n in neg])
        same = (toks == out["text"]).all(dim=1) & mask  # the swapped sentence fell past the context
        counts["neg_truncated"] = int(same.sum())
        out["neg"], out["neg_mask"] = toks, mask & ~same
    if spec.want_tags:
        L = out["text"].shape[1]
        out["tag_text"] = tokenizer(tag_texts) if tag_texts else torch.zeros(0, L, dtype=torch.long)
        out["tag_owner"] = torch.tensor(owners, dtype=torch.long)
        out["tag_label"] = torch.tensor(labels, dtype=torch.float32)
    if vocab is not None:
        target = torch.zeros(len(samples), len(vocab))
        for i, rec in enumerate(recs):
            for t in rec["tags"] if rec else []:
                j = vocab.get(item_key(t))
                if j is not None:
                    target[i, j] = 1.0
        out["lin_target"] = target
        out["lin_mask"] = torch.tensor([r is not None for r in recs])
    out["counts"] = counts
    out["uids"] = [s.uid for s in samples]
    return out
