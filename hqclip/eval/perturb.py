"""ARO-style word-order perturbations (as in ARO's COCO/Flickr-Order): the same words in a wrong
order. Deterministic per caption, so every model sees the same negatives."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from hqclip.eval.splits import Item, Split


def _shuffled(seq: list, rng: random.Random) -> list:
    out = seq[:]
    rng.shuffle(out)
    return out


def _trigrams(words: list[str]) -> list[list[str]]:
    return [words[i : i + 3] for i in range(0, len(words), 3)]


def _shuffle_positions(words: list[str], positions: list[int], rng: random.Random) -> list[str]:
    out = words[:]
    for p, w in zip(positions, _shuffled([words[p] for p in positions], rng)):
        out[p] = w
    return out


def perturbations(
    caption: str, nouns: set[str] = frozenset(), adjectives: set[str] = frozenset(), tries: int = 5
) -> list[str]:
    """Up to four distinct reorderings of `caption`, none equal to it: nouns+adjectives shuffled,
    the other words shuffled (both only when a vocabulary is given), trigrams shuffled, words
    shuffled within each trigram."""
    rng = random.Random(hashlib.sha256(caption.encode()).hexdigest())
    words = caption.rstrip(".").split()
    content = [i for i, w in enumerate(words) if w.lower() in nouns or w.lower() in adjectives]
    other = [i for i in range(len(words)) if i not in set(content)]
    ops = [
        lambda: sum(_shuffled(_trigrams(words), rng), []),
        lambda: sum((_shuffled(t, rng) for t in _trigrams(words)), []),
    ]
    if content:
        ops = [
            lambda: _shuffle_positions(words, content, rng),
            lambda: _shuffle_positions(words, other, rng),
            *ops,
        ]
    seen, out = {" ".join(words)}, []
    for op in ops:
        for _ in range(tries):
            cand = " ".join(op())
            if cand not in seen:
                seen.add(cand)
                out.append(cand + ("." if caption.endswith(".") else ""))
                break
    return out


def world_vocab(root: str | Path) -> tuple[set[str], set[str]]:
    """(nouns, adjectives) from a world.json next to or above the eval folder; empty when absent."""
    root = Path(root)
    for path in (root / "world.json", root.parent / "world.json"):
        if path.is_file():
            try:
                vocab = json.loads(path.read_text()).get("vocab", {})
            except (OSError, ValueError, AttributeError):
                return set(), set()
            nouns = {w.lower() for w in vocab.get("shapes", [])}
            adjs = {w.lower() for k in ("colors", "sizes") for w in vocab.get(k, [])}
            return nouns | {n + "s" for n in nouns}, adjs
    return set(), set()


def aro_order(retrieval: Split, nouns: set[str], adjectives: set[str]) -> Split:
    """Each retrieval image's first caption against its word-order perturbations."""
    items = []
    for it in retrieval.items:
        negs = perturbations(it.texts[0], nouns, adjectives)
        if negs:
            items.append(Item(it.src, it.entry, it.images, (it.texts[0], *negs)))
    return Split("aro_order", "order", "choice", items)
