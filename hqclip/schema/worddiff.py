"""What a negative changes in its positive, by a word diff of the aligned pair: the one place that
splits texts into words and compares them. `edit_class` names the generic kind for any data
(`hqclip report`); the world's fine kinds (`hqclip.world.kinds.edit_kind`) read the same diff."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_WORD = re.compile(r"\w+")

# the generic kinds, in the order a report lists them
EDIT_CLASSES = (
    "one word replaced",
    "adjacent words replaced",
    "words replaced",
    "words swapped",
    "words inserted",
    "words deleted",
    "rewritten",
    "no word changed",
)


def words(text: str) -> list[str]:
    """Lower-cased words; 'an' counts as 'a', so an article that follows the next word is no edit."""
    return ["a" if w == "an" else w for w in _WORD.findall(text.lower())]


def changed(a: list[str], b: list[str]) -> list[int]:
    """Positions at which two word lists of one length differ."""
    return [i for i, (x, y) in enumerate(zip(a, b)) if x != y]


def edit_class(pos: str, neg: str) -> str:
    """The generic kind of edit (one of EDIT_CLASSES) that turns `pos` into `neg`. Same length:
    the changed words exchanged among themselves → swapped; one changed → one word replaced;
    a run of them → adjacent words replaced; else words replaced. Other lengths: only insertions
    or only deletions, else rewritten."""
    a, b = words(pos), words(neg)
    if a == b:
        return "no word changed"
    if len(a) == len(b):
        diff = changed(a, b)
        if sorted(a[i] for i in diff) == sorted(b[i] for i in diff):
            return "words swapped"
        if len(diff) == 1:
            return "one word replaced"
        return "adjacent words replaced" if diff[-1] - diff[0] + 1 == len(diff) else "words replaced"
    ops = {op for op, *_ in SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op != "equal"}
    return {frozenset({"insert"}): "words inserted", frozenset({"delete"}): "words deleted"}.get(
        frozenset(ops), "rewritten"
    )
