"""Words for scenes: the true descriptions, captions and tags that everything else edits.

The true description is what a perfect captioner would write; the oracle LVLM, the eval splits
and the alt-text generator all start from these phrases."""

from __future__ import annotations

from hqclip.world.config import POSITIONS
from hqclip.world.scene import Scene

NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def name(obj: dict) -> str:
    """The identifying phrase: colour + shape (unique within a scene)."""
    return f"{obj['color']} {obj['shape']}"


def object_sentence(obj: dict) -> str:
    where = POSITIONS[(obj["row"], obj["col"])]
    where = "in the center" if where == "center" else f"at the {where}"
    return f"{article(obj['size'] + ' ' + name(obj))} {where}."


def relation_sentence(subj: dict, rel: str, obj: dict) -> str:
    return f"the {name(subj)} is {rel} the {name(obj)}."


def count_sentence(n: int) -> str:
    return f"{NUMBERS[n]} shape{'s' if n > 1 else ''} in total."


def chain(scene: Scene) -> list[dict]:
    """The relations a description states: each object to the next one (n-1 of them), enough to
    place every object while keeping descriptions within a CLIP text context."""
    return [r for r in scene["relations"] if r["object"] == r["subject"] + 1]


def relation_sentences(scene: Scene) -> list[str]:
    objs = scene["objects"]
    return [relation_sentence(objs[r["subject"]], r["relation"], objs[r["object"]])
            for r in chain(scene)]


def describe(scene: Scene) -> list[str]:
    """The true description: one sentence per object, the chain of relations, then the count
    (most informative first, since CLIP truncates long texts)."""
    objs = scene["objects"]
    return [*(object_sentence(o) for o in objs), *relation_sentences(scene), count_sentence(len(objs))]


def short_caption(scene: Scene) -> str:
    """The objects as a list: 'a large red circle and a small blue square'."""
    phrases = [article(f"{o['size']} {name(o)}") for o in scene["objects"]]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def tags(obj: dict) -> list[str]:
    return [name(obj), f"{obj['size']} {obj['shape']}"]
