"""Minimal counterfactual edits of a scene's facts: one attribute, object, count or relation
changed so that the edited statement is false of the scene. The oracle's negatives and the
compositional benchmark's negative captions both come from here. `pairs` bounds the colour–shape
compositions an edit may produce: the oracle passes the train pairs, the benchmarks all of them."""

from __future__ import annotations

import random
from typing import Collection

from hqclip.world.config import COLORS, GRID, SHAPES, SIZES
from hqclip.world.scene import Scene, all_pairs

Pair = tuple[str, str]
ALL = frozenset(all_pairs())

FLIP = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def present(scene: Scene) -> set[tuple[str, str]]:
    return {(o["color"], o["shape"]) for o in scene["objects"]}


def absent_pairs(scene: Scene, pairs: Collection[Pair] | None = None) -> list[Pair]:
    have, ok = present(scene), ALL if pairs is None else pairs
    return [(c, s) for c in COLORS for s in SHAPES if (c, s) not in have and (c, s) in ok]


def recolor(obj: dict, scene: Scene, rng: random.Random, pairs: Collection[Pair] | None = None) -> dict:
    """The object with a colour that no object of its shape has in the scene."""
    free = {c for c, s in absent_pairs(scene, pairs) if s == obj["shape"]}
    return {**obj, "color": rng.choice([c for c in COLORS if c in free])}


def reshape(obj: dict, scene: Scene, rng: random.Random, pairs: Collection[Pair] | None = None) -> dict:
    free = {s for c, s in absent_pairs(scene, pairs) if c == obj["color"]}
    return {**obj, "shape": rng.choice([s for s in SHAPES if s in free])}


def resize(obj: dict) -> dict:
    return {**obj, "size": next(s for s in SIZES if s != obj["size"])}


def move(obj: dict, scene: Scene, rng: random.Random) -> dict:
    taken = {(o["row"], o["col"]) for o in scene["objects"]}
    free = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in taken]
    r, c = rng.choice(free)
    return {**obj, "row": r, "col": c}


def other_count(n: int, rng: random.Random) -> int:
    return rng.choice([k for k in range(1, 5) if k != n])
