"""Scene graphs: a few objects on a grid, and the spatial relations between them."""

from __future__ import annotations

import random
from typing import Any

from hqclip.world.config import COLORS, GRID, SHAPES, SIZES, heldout_pairs

Scene = dict[str, Any]


def relation(a: dict, b: dict) -> str:
    """The relation of object a to object b (they never share a cell): horizontal when their
    columns differ, else vertical."""
    if a["col"] != b["col"]:
        return "left of" if a["col"] < b["col"] else "right of"
    return "above" if a["row"] < b["row"] else "below"


def with_relations(objects: list[dict]) -> Scene:
    rels = [
        {"subject": i, "relation": relation(objects[i], objects[j]), "object": j}
        for i in range(len(objects))
        for j in range(i + 1, len(objects))
    ]
    return {"objects": objects, "relations": rels}


def sample_scene(
    rng: random.Random, allowed: list[tuple[str, str]], n_objects: int, first: tuple[str, str] | None = None
) -> Scene:
    """`n_objects` objects with distinct (colour, shape) pairs drawn from `allowed`, in distinct
    cells; `first`, if given, is the first object's pair (used to plant a held-out composition)."""
    pairs = rng.sample([p for p in allowed if p != first], n_objects - (first is not None))
    if first is not None:
        pairs.insert(0, first)
    cells = rng.sample([(r, c) for r in range(GRID) for c in range(GRID)], n_objects)
    objects = [
        {"shape": s, "color": c, "size": rng.choice(list(SIZES)), "row": r, "col": col}
        for (c, s), (r, col) in zip(pairs, cells)
    ]
    return with_relations(objects)


def all_pairs() -> list[tuple[str, str]]:
    return [(c, s) for c in COLORS for s in SHAPES]


def train_pairs() -> list[tuple[str, str]]:
    """The compositions training data may show or name: all but the held-out ones. Not only the
    train scenes but every training text (alt-text, the oracle's positives, negatives and tags)
    stays inside it; a held-out pair met only as a negative would be learnt as "always false"."""
    heldout = set(heldout_pairs())
    return [p for p in all_pairs() if p not in heldout]
