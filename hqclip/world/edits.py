"""Minimal counterfactual edits of a scene's facts: one attribute, object, count or relation
changed so that the edited statement is false of the scene. The oracle's negatives and the
compositional benchmark's negative captions both come from here."""

from __future__ import annotations

import random

from hqclip.world.config import COLORS, GRID, SHAPES, SIZES
from hqclip.world.scene import Scene

FLIP = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def present(scene: Scene) -> set[tuple[str, str]]:
    return {(o["color"], o["shape"]) for o in scene["objects"]}


def absent_pairs(scene: Scene) -> list[tuple[str, str]]:
    have = present(scene)
    return [(c, s) for c in COLORS for s in SHAPES if (c, s) not in have]


def recolor(obj: dict, scene: Scene, rng: random.Random) -> dict:
    """The object with a colour that no object of its shape has in the scene."""
    have = present(scene)
    return {**obj, "color": rng.choice([c for c in COLORS if (c, obj["shape"]) not in have])}


def reshape(obj: dict, scene: Scene, rng: random.Random) -> dict:
    have = present(scene)
    return {**obj, "shape": rng.choice([s for s in SHAPES if (obj["color"], s) not in have])}


def resize(obj: dict) -> dict:
    return {**obj, "size": next(s for s in SIZES if s != obj["size"])}


def move(obj: dict, scene: Scene, rng: random.Random) -> dict:
    taken = {(o["row"], o["col"]) for o in scene["objects"]}
    free = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in taken]
    r, c = rng.choice(free)
    return {**obj, "row": r, "col": c}


def other_count(n: int, rng: random.Random) -> int:
    return rng.choice([k for k in range(1, 5) if k != n])
