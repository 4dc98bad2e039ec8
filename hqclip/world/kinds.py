"""The kinds of negative edit: the refine prompt names four (attribute, object, relation, binding);
the world writes them as six finer kinds, one per fact a sentence can state, and every compositional
benchmark subset is one of them. `edit_kind` names the kind of an aligned (positive, negative) pair
by the word diff of `hqclip.schema.worddiff`, for the blind test, the probes, the learnability
controls and `hqclip report`."""

from __future__ import annotations

from hqclip.schema.worddiff import changed, words
from hqclip.world.config import COLORS, RELATIONS, SHAPES, SIZES

# fine kind -> the kind the refine prompt names
PROMPT_KIND = {
    "color": "attribute",
    "size": "attribute",
    "shape": "object",
    "object": "object",
    "relation": "relation",
    "binding": "binding",
}
KINDS = tuple(PROMPT_KIND)
# the benchmark subset each kind is judged on (hqclip.world.splits.SUBSETS)
SUBSET_KIND = {
    "replace_att": "color",
    "replace_obj": "shape",
    "replace_rel": "relation",
    "swap_att": "binding",
    "add_obj": "object",
}
_RELATION_WORDS = {w for r in RELATIONS for w in r.split()}


def _word_kind(a: str, b: str) -> str | None:
    for kind, vocab in (("color", COLORS), ("shape", SHAPES), ("size", SIZES), ("relation", _RELATION_WORDS)):
        if a in vocab and b in vocab:
            return kind
    return None


def edit_kind(pos: str, neg: str) -> str | None:
    """The kind of edit that turns `pos` into `neg` (world sentences or captions), or None when it
    is none of KINDS: one word changed → its kind; a colour and the shape after it changed →
    object; two colours exchanged → binding."""
    a, b = words(pos), words(neg)
    if len(a) != len(b):
        return None
    diff = changed(a, b)
    kinds = [_word_kind(a[i], b[i]) for i in diff]
    if len(diff) == 1:
        return kinds[0]
    if len(diff) == 2 and kinds == ["color", "shape"] and diff[1] == diff[0] + 1:
        return "object"
    if (
        len(diff) == 2
        and kinds == ["color", "color"]
        and (a[diff[0]], a[diff[1]]) == (b[diff[1]], b[diff[0]])
    ):
        return "binding"
    return None
