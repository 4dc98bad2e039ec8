"""Minimal counterfactual edits of a scene's objects: one attribute or object changed, or two
objects' colours swapped, so that the edited statement is false of the scene. The oracle's
negatives and the compositional benchmark's negative captions both come from here. `pairs` bounds
the colour–shape compositions an edit may produce (the oracle and the benchmark pass the train
pairs); an edit that has no admissible result returns None."""

from __future__ import annotations

import random
from collections.abc import Collection

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


def recolor(
    obj: dict, scene: Scene, rng: random.Random, pairs: Collection[Pair] | None = None
) -> dict | None:
    """The object with a colour that no object of its shape has in the scene."""
    free = [c for c, s in absent_pairs(scene, pairs) if s == obj["shape"]]
    return {**obj, "color": rng.choice(free)} if free else None


def reshape(
    obj: dict, scene: Scene, rng: random.Random, pairs: Collection[Pair] | None = None
) -> dict | None:
    free = [s for c, s in absent_pairs(scene, pairs) if c == obj["color"]]
    return {**obj, "shape": rng.choice(free)} if free else None


def replace(
    obj: dict, scene: Scene, rng: random.Random, pairs: Collection[Pair] | None = None
) -> dict | None:
    """Another object in its place: a composition absent from the scene that shares neither the
    colour nor the shape."""
    free = [(c, s) for c, s in absent_pairs(scene, pairs) if c != obj["color"] and s != obj["shape"]]
    if not free:
        return None
    c, s = rng.choice(free)
    return {**obj, "color": c, "shape": s}


def resize(obj: dict) -> dict:
    return {**obj, "size": next(s for s in SIZES if s != obj["size"])}


def swap_colors(
    a: dict, b: dict, scene: Scene, pairs: Collection[Pair] | None = None
) -> tuple[dict, dict] | None:
    """The two objects with their colours exchanged (attribute binding), when both new
    compositions are admissible and absent from the scene."""
    ok = set(absent_pairs(scene, pairs))
    if a["color"] == b["color"] or a["shape"] == b["shape"]:
        return None
    if (b["color"], a["shape"]) not in ok or (a["color"], b["shape"]) not in ok:
        return None
    return {**a, "color": b["color"]}, {**b, "color": a["color"]}


def move(obj: dict, scene: Scene, rng: random.Random) -> dict:
    taken = {(o["row"], o["col"]) for o in scene["objects"]}
    free = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in taken]
    r, c = rng.choice(free)
    return {**obj, "row": r, "col": c}
