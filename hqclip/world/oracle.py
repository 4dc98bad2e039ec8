"""The simulated LVLM: writes the annotation record for a scene as raw text, the way a real
model would answer the refine prompt, with knobs for its typical failures.

- omission: each object (its phrase, relation and tags) is left out with this probability;
- hallucination: per object, a wrong colour is stated; per record, an absent object is invented;
- malformed: the answer is unusable (not JSON, truncated, misaligned, empty, a refusal, ...).
Each description sentence gets one negative, a minimal edit of one of the kinds the refine prompt
asks for (hqclip.world.kinds): colour or size (attribute), shape or the whole object (object), the
relation flipped (relation), the two objects' colours swapped (binding), drawn with KIND_WEIGHTS
among those the sentence admits. Negatives are false of the true scene (hqclip.world.edits), state
a possible scene (the blind test, hqclip.world.blind), and like everything the oracle writes name
only train compositions (hqclip.world.scene.train_pairs)."""

from __future__ import annotations

import json
import random

from hqclip.world import describe as d
from hqclip.world import edits
from hqclip.world.config import SHAPES, SIZES
from hqclip.world.kinds import KINDS
from hqclip.world.scene import Scene, relation, train_pairs

VERSION = 3  # bumped whenever the same scene and seed would give a different answer
TRAIN = frozenset(train_pairs())

MALFORMED_KINDS = ("not_json", "truncated", "misaligned", "empty", "refusal", "neg_equals_pos", "runaway")


# how often each kind of negative is written, among the kinds a sentence admits (a one-object
# sentence admits no relation or binding edit; an edit with no admissible result is not drawn).
# Binding is admissible in ~40 % of two-object sentences (both swapped compositions must be train
# pairs absent from the scene), hence its higher weight.
KIND_WEIGHTS = {"color": 1.0, "size": 1.0, "shape": 1.0, "object": 1.0, "relation": 1.0, "binding": 3.0}


def _edits(objs: list[dict], ctx: Scene, rng: random.Random) -> dict[str, list[dict]]:
    """Every admissible edit of one sentence's objects, by kind: the edited object list (its
    relation flipped for `relation`). Edits stay inside the train pairs and off every composition
    of `ctx` (the true scene and what the model believes it saw), so the negative is false of the
    scene and never names a second copy of an object."""
    out: dict[str, list[dict]] = {}
    i = rng.randrange(len(objs))
    for kind, fn in (("color", edits.recolor), ("shape", edits.reshape), ("object", edits.replace)):
        if (new := fn(objs[i], ctx, rng, TRAIN)) is not None:
            out[kind] = [new if j == i else o for j, o in enumerate(objs)]
    out["size"] = [edits.resize(o) if j == i else o for j, o in enumerate(objs)]
    if len(objs) == 2:
        out["relation"] = objs
        if (swapped := edits.swap_colors(*objs, ctx, TRAIN)) is not None:
            out["binding"] = list(swapped)
    return out


def _pair(objs: list[dict], ctx: Scene, rng: random.Random, kinds: tuple[str, ...]) -> tuple[str, str] | None:
    """(sentence, negative) for one group of objects, the negative's kind drawn by KIND_WEIGHTS
    among those allowed and admissible; None when none is."""
    options = {k: v for k, v in _edits(objs, ctx, rng).items() if k in kinds}
    if not options:
        return None
    names = sorted(options)
    kind = rng.choices(names, weights=[KIND_WEIGHTS[k] for k in names])[0]
    if kind == "relation":
        a, b = objs
        return d.sentence(objs), d.sentence(objs, rel=edits.FLIP[relation(a, b)])
    return d.sentence(objs), d.sentence(options[kind])


def _tag_pairs(obj: dict, ctx: Scene, rng: random.Random) -> list[tuple[str, str]]:
    """(colour shape, its negative) and (size shape, its negative), each negative in its tag's own
    form, so that the form never tells the positive tag from the negative one."""
    edits_ = (edits.recolor, edits.reshape) if rng.random() < 0.5 else (edits.reshape, edits.recolor)
    other = next(o for fn in (*edits_, edits.replace) if (o := fn(obj, ctx, rng, TRAIN)) is not None)
    taken = {(o["size"], o["shape"]) for o in ctx["objects"]}
    size = edits.resize(obj)["size"]
    if (size, obj["shape"]) in taken:  # both sizes of this shape are there: change the shape instead
        size, shape = obj["size"], rng.choice([s for s in SHAPES if (obj["size"], s) not in taken])
    else:
        shape = obj["shape"]
    return list(zip(d.tags(obj), (d.name(other), f"{size} {shape}")))


def record(
    scene: Scene,
    rng: random.Random,
    omission: float = 0.0,
    hallucination: float = 0.0,
    kinds: tuple[str, ...] = KINDS,
) -> dict:
    """The four aligned lists for a scene, as the simulated LVLM perceives it. `kinds` restricts
    the negatives (the learnability controls): a sentence that admits none of them is left out."""
    objs = scene["objects"]
    kept = [i for i in range(len(objs)) if rng.random() >= omission] or [rng.randrange(len(objs))]
    seen = [dict(objs[i]) for i in kept]
    for i, o in enumerate(seen):  # hallucinated attribute: stated as fact, negatives built from the mistake
        if rng.random() < hallucination:
            seen[i] = edits.recolor(o, {"objects": [*objs, *seen]}, rng, TRAIN) or o
    if rng.random() < hallucination:  # a hallucinated object, somewhere free
        ctx = {"objects": [*objs, *seen]}
        c, s = rng.choice(edits.absent_pairs(ctx, TRAIN))
        seen.append(
            edits.move(
                {"shape": s, "color": c, "size": rng.choice(list(SIZES)), "row": 0, "col": 0}, scene, rng
            )
        )
    ctx = {"objects": [*objs, *seen]}
    pairs = [p for g in d.groups(seen) if (p := _pair(g, ctx, rng, kinds)) is not None]
    unique_tags: dict[str, tuple[str, str]] = {}
    for t, n in (p for o in seen for p in _tag_pairs(o, ctx, rng)):
        unique_tags.setdefault(t.casefold(), (t, n))
    return {
        "desc": [p for p, _ in pairs],
        "neg_desc": [n for _, n in pairs],
        "tags": [t for t, _ in unique_tags.values()],
        "neg_tags": [n for _, n in unique_tags.values()],
    }


def _malformed(rec: dict, rng: random.Random) -> str:
    kind = rng.choice(MALFORMED_KINDS)
    text = json.dumps(rec)
    if kind == "not_json":
        return "Sure! The image shows " + " ".join(rec["desc"])
    if kind == "truncated":
        return text[: rng.randrange(1, len(text) - 1)]
    if kind == "misaligned":
        neg = rec["neg_desc"]
        return json.dumps({**rec, "neg_desc": neg[:-1] if len(neg) > 1 else neg * 2})
    if kind == "empty":
        return ""
    if kind == "refusal":
        return "I'm sorry, but I can't help with describing this image."
    if kind == "neg_equals_pos":
        return json.dumps({**rec, "neg_desc": [rec["desc"][0], *rec["neg_desc"][1:]]})
    return json.dumps({**rec, "desc": [rec["desc"][0] + " and" * 200, *rec["desc"][1:]]})


def simulate(
    scene: Scene,
    rng: random.Random,
    omission: float = 0.0,
    hallucination: float = 0.0,
    malformed: float = 0.0,
    kinds: tuple[str, ...] = KINDS,
) -> str:
    """The raw text the simulated LVLM answers for one scene."""
    rec = record(scene, rng, omission, hallucination, kinds)
    if rng.random() < malformed:
        return _malformed(rec, rng)
    return json.dumps(rec)
