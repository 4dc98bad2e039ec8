"""Words for scenes: the true descriptions, captions and tags that everything else edits.

A description states each object once, with its size, colour and shape, and pairs consecutive
objects in one sentence with their spatial relation ("a small red circle is left of a large blue
square."); an odd last object gets a sentence of its own. Every fact lives in exactly one sentence,
so a negative that edits one sentence (an attribute, an object, the relation, or two objects'
attributes swapped) still describes a possible scene: telling it from the true description needs
the image, not the text (`hqclip.world.blind`). No count sentence and no absolute positions: both
would restate facts another sentence holds, and an edit of one would contradict the other."""

from __future__ import annotations

import re

from hqclip.world.config import COLORS, RELATIONS, SHAPES, SIZES
from hqclip.world.scene import Scene, relation

PER_SENTENCE = 2  # objects per description sentence


def article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def name(obj: dict) -> str:
    """The identifying phrase: colour + shape (unique within a scene)."""
    return f"{obj['color']} {obj['shape']}"


def phrase(obj: dict) -> str:
    """'a small red circle'."""
    return article(f"{obj['size']} {name(obj)}")


def sentence(objs: list[dict], rel: str | None = None) -> str:
    """One description sentence over one or two objects; `rel` overrides the true relation."""
    if len(objs) == 1:
        return f"{phrase(objs[0])}."
    a, b = objs
    return f"{phrase(a)} is {rel or relation(a, b)} {phrase(b)}."


def groups(objs: list[dict]) -> list[list[dict]]:
    """Consecutive objects, two per sentence."""
    return [objs[i : i + PER_SENTENCE] for i in range(0, len(objs), PER_SENTENCE)]


def describe(scene: Scene) -> list[str]:
    """The true description of a scene: one sentence per group of objects."""
    return [sentence(g) for g in groups(scene["objects"])]


def relation_sentence(subj: dict, rel: str, obj: dict) -> str:
    """'the red circle is left of the blue star.' (the compositional benchmark's relation form)."""
    return f"the {name(subj)} is {rel} the {name(obj)}."


def short_caption(scene: Scene) -> str:
    """The objects as a list: 'a large red circle and a small blue square'."""
    phrases = [phrase(o) for o in scene["objects"]]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def tags(obj: dict) -> list[str]:
    return [name(obj), f"{obj['size']} {obj['shape']}"]


_PHRASE = rf"an? ({'|'.join(SIZES)}) ({'|'.join(COLORS)}) ({'|'.join(SHAPES)})"
_SENTENCE = re.compile(rf"{_PHRASE}(?: is ({'|'.join(RELATIONS)}) {_PHRASE})?\.")


def holds(scene: Scene, text: str) -> bool | None:
    """Whether a description sentence is true of the scene (its objects exist with these sizes,
    and the relation holds); None when `text` is not a description sentence. The ground truth
    that scores a captioner's, or a scorer's, view of a sentence."""
    m = _SENTENCE.fullmatch(text.strip())
    if m is None:
        return None
    by_pair = {(o["color"], o["shape"]): o for o in scene["objects"]}
    found = []
    for size, color, shape in (m.group(1, 2, 3), m.group(5, 6, 7)):
        if color is None:
            continue
        obj = by_pair.get((color, shape))
        if obj is None or obj["size"] != size:
            return False
        found.append(obj)
    return m.group(4) is None or relation(*found) == m.group(4)
