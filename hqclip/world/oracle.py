"""The simulated LVLM: writes the annotation record for a scene as raw text, the way a real
model would answer the refine prompt, with knobs for its typical failures.

- omission: each object (its sentence, relations and tags) is left out with this probability;
- hallucination: per object, a wrong colour is stated; per record, an absent object is invented;
- malformed: the answer is unusable (not JSON, truncated, misaligned, empty, a refusal, ...).
The negatives are minimal edits that are false of the true scene (hqclip.world.edits), and like
everything it writes they name only train compositions (hqclip.world.scene.train_pairs)."""

from __future__ import annotations

import json
import random

from hqclip.world import describe as d
from hqclip.world import edits
from hqclip.world.scene import Scene, train_pairs

VERSION = 2  # bumped whenever the same scene and seed would give a different answer
TRAIN = frozenset(train_pairs())

MALFORMED_KINDS = ("not_json", "truncated", "misaligned", "empty", "refusal", "neg_equals_pos",
                   "runaway")


def _object_pair(obj: dict, scene: Scene, rng: random.Random) -> tuple[str, str]:
    edit = rng.choice(("color", "shape", "size", "position"))
    if edit == "color":
        neg = edits.recolor(obj, scene, rng, TRAIN)
    elif edit == "shape":
        neg = edits.reshape(obj, scene, rng, TRAIN)
    elif edit == "size":
        neg = edits.resize(obj)
    else:
        neg = edits.move(obj, scene, rng)
    return d.object_sentence(obj), d.object_sentence(neg)


def _relation_pair(subj: dict, rel: str, obj: dict, rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.5:
        return d.relation_sentence(subj, rel, obj), d.relation_sentence(subj, edits.FLIP[rel], obj)
    return d.relation_sentence(subj, rel, obj), d.relation_sentence(obj, rel, subj)


def _tag_pairs(obj: dict, scene: Scene, rng: random.Random) -> list[tuple[str, str]]:
    shapes_sizes = {(o["size"], o["shape"]) for o in scene["objects"]}
    flipped = edits.resize(obj)
    neg_size = (f"{flipped['size']} {obj['shape']}"
                if (flipped["size"], obj["shape"]) not in shapes_sizes
                else d.name(edits.reshape(obj, scene, rng, TRAIN)))
    neg_name = d.name(edits.recolor(obj, scene, rng, TRAIN) if rng.random() < 0.5
                      else edits.reshape(obj, scene, rng, TRAIN))
    return list(zip(d.tags(obj), (neg_name, neg_size)))


def _rel(scene: Scene, a: int, b: int) -> str:
    return next(r["relation"] for r in scene["relations"] if (r["subject"], r["object"]) == (a, b))


def record(scene: Scene, rng: random.Random, omission: float = 0.0,
           hallucination: float = 0.0) -> dict:
    """The four aligned lists for a scene, as the simulated LVLM perceives it."""
    objs = scene["objects"]
    kept = [i for i in range(len(objs)) if rng.random() >= omission] or [rng.randrange(len(objs))]
    seen = [dict(o) for o in objs]
    for i in kept:  # hallucinated attribute: stated as fact, negatives built from the mistake
        if rng.random() < hallucination:
            seen[i] = edits.recolor(seen[i], {"objects": seen}, rng, TRAIN)
    view = {"objects": seen, "relations": scene["relations"]}
    pairs = [_object_pair(seen[i], view, rng) for i in kept]
    # the chain of relations among the objects the model kept: each to the next kept one
    pairs += [_relation_pair(seen[a], _rel(scene, a, b), seen[b], rng) for a, b in zip(kept, kept[1:])]
    tag_pairs = [p for i in kept for p in _tag_pairs(seen[i], view, rng)]
    if rng.random() < hallucination:
        c, s = rng.choice(sorted(set(edits.absent_pairs(scene, TRAIN)) & set(edits.absent_pairs(view))))
        ghost = {"shape": s, "color": c, "size": "small", "row": 0, "col": 0}
        ghost = edits.move(ghost, scene, rng)
        pairs.append(_object_pair(ghost, {"objects": [*seen, ghost], "relations": []}, rng))
    pairs.append((d.count_sentence(len(kept)), d.count_sentence(edits.other_count(len(kept), rng))))
    unique_tags: dict[str, tuple[str, str]] = {}
    for t, n in tag_pairs:
        unique_tags.setdefault(t.casefold(), (t, n))
    return {"desc": [p for p, _ in pairs], "neg_desc": [n for _, n in pairs],
            "tags": [t for t, _ in unique_tags.values()],
            "neg_tags": [n for _, n in unique_tags.values()]}


def _malformed(rec: dict, rng: random.Random) -> str:
    kind = rng.choice(MALFORMED_KINDS)
    text = json.dumps(rec)
    if kind == "not_json":
        return "Sure! The image shows " + " ".join(rec["desc"])
    if kind == "truncated":
        return text[: rng.randrange(1, len(text) - 1)]
    if kind == "misaligned":
        return json.dumps({**rec, "neg_desc": rec["neg_desc"][:-1]})
    if kind == "empty":
        return ""
    if kind == "refusal":
        return "I'm sorry, but I can't help with describing this image."
    if kind == "neg_equals_pos":
        return json.dumps({**rec, "neg_desc": [rec["desc"][0], *rec["neg_desc"][1:]]})
    return json.dumps({**rec, "desc": [rec["desc"][0] + " and" * 200, *rec["desc"][1:]]})


def simulate(scene: Scene, rng: random.Random, omission: float = 0.0, hallucination: float = 0.0,
             malformed: float = 0.0) -> str:
    """The raw text the simulated LVLM answers for one scene."""
    rec = record(scene, rng, omission, hallucination)
    if rng.random() < malformed:
        return _malformed(rec, rng)
    return json.dumps(rec)
