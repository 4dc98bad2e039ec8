"""Evaluation splits in the formats `hqclip eval` reads (and users' own data can use):

- zeroshot/  classes.json {"classnames", "templates"}, samples.json [{"filename", "label"}]
- retrieval/ captions.json [{"filename", "captions": [...]}]
- sugarcrepe/<subset>.json {"id": {"filename", "caption", "negative_caption"}} (SugarCrepe's format)
- winoground/examples.json [{"id", "image_0", "image_1", "caption_0", "caption_1"}]

Every scene except the zero-shot ones carries one held-out colour–shape composition (never in
train) among train-pair objects; zero-shot covers all compositions, held-out ones included, one
object per image. Each compositional subset is one kind of edit (hqclip.world.kinds.SUBSET_KIND)
and passes the blind test (hqclip.world.blind)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from hqclip.world import describe as d
from hqclip.world import edits
from hqclip.world.config import COLORS, SHAPES, WorldConfig, heldout_pairs
from hqclip.world.scene import Scene, all_pairs, relation, sample_scene, train_pairs, with_relations

TRAIN = frozenset(train_pairs())

TEMPLATES = [
    "a photo of a {}.",
    "a {}.",
    "an image of a {}.",
    "a drawing of a {}.",
    "a {} on a plain background.",
]
SUBSETS = ("replace_att", "replace_obj", "replace_rel", "swap_att", "add_obj")

# A job: (image file stem, scene) plus the entry it contributes to the split's JSON.
Item = tuple[str, Scene, dict]


def classnames() -> list[str]:
    return [f"{c} {s}" for c, s in all_pairs()]


def zeroshot(cfg: WorldConfig, rng: random.Random) -> Iterator[Item]:
    n = 0
    for label, pair in enumerate(all_pairs()):
        for _ in range(cfg.zeroshot_per_class):
            scene = sample_scene(rng, [pair], 1, first=None)
            yield f"zs-{n:06d}", scene, {"label": label}
            n += 1


def _heldout_scene(rng: random.Random, cfg: WorldConfig, min_objects: int = 1) -> Scene:
    """A scene whose first object is a held-out composition and whose others are train pairs, so
    every caption and negative below names exactly one held-out composition: a text-only model
    cannot pick the true caption by which compositions it names (the blind test)."""
    n = rng.randint(min_objects, cfg.max_objects)
    return sample_scene(rng, train_pairs(), n, first=rng.choice(heldout_pairs()))


def retrieval(cfg: WorldConfig, rng: random.Random) -> Iterator[Item]:
    """Scenes of two or more objects, no two with the same objects (so that every caption has one
    right image)."""
    seen: set[tuple[str, ...]] = set()
    i = 0
    while i < cfg.retrieval_samples:
        scene = _heldout_scene(rng, cfg, min_objects=2)
        key = tuple(sorted(d.phrase(o) for o in scene["objects"]))
        if key in seen:
            continue
        seen.add(key)
        yield f"ret-{i:06d}", scene, {"captions": [d.short_caption(scene), " ".join(d.describe(scene))]}
        i += 1


def _pair_caption(a: tuple[str, str], b: tuple[str, str]) -> str:
    return f"{d.article(' '.join(a))} and {d.article(' '.join(b))}"


def _sugarcrepe_pair(subset: str, scene: Scene, rng: random.Random) -> tuple[str, str] | None:
    """(caption, negative caption), or None when the scene admits no negative of the subset. Edits
    touch only the train-pair objects (never the planted held-out one) and produce train pairs."""
    objs = scene["objects"]
    t = rng.randrange(1, len(objs))
    if subset in ("replace_att", "replace_obj"):
        new = (edits.recolor if subset == "replace_att" else edits.reshape)(objs[t], scene, rng, TRAIN)
        if new is None:
            return None
        return d.short_caption(scene), d.short_caption(
            {"objects": [new if i == t else o for i, o in enumerate(objs)]}
        )
    if subset == "replace_rel":
        a, b = rng.sample(range(len(objs)), 2)
        rel = relation(objs[a], objs[b])
        return d.relation_sentence(objs[a], rel, objs[b]), d.relation_sentence(
            objs[a], edits.FLIP[rel], objs[b]
        )
    if subset == "swap_att":
        a, b = rng.sample(range(1, len(objs)), 2)
        swapped = edits.swap_colors(objs[a], objs[b], scene, TRAIN)
        if swapped is None:
            return None
        return (
            _pair_caption((objs[a]["color"], objs[a]["shape"]), (objs[b]["color"], objs[b]["shape"])),
            _pair_caption(*((o["color"], o["shape"]) for o in swapped)),
        )
    if subset == "add_obj":
        # both captions name the same number of objects: the other objects, then the target
        # (true) or an absent one (added), so caption length cannot give the answer away
        extra = edits.replace(objs[t], scene, rng, TRAIN)
        if extra is None:
            return None
        head = ", ".join(d.article(d.name(o)) for i, o in enumerate(objs) if i != t)
        return f"{head} and {d.article(d.name(objs[t]))}", f"{head} and {d.article(d.name(extra))}"
    raise ValueError(subset)


def sugarcrepe(subset: str, cfg: WorldConfig, rng: random.Random) -> Iterator[Item]:
    min_objects = 3 if subset == "swap_att" else 2
    i = 0
    while i < cfg.sugarcrepe_per_subset:
        scene = _heldout_scene(rng, cfg, min_objects)
        pair = _sugarcrepe_pair(subset, scene, rng)
        if pair is None:
            continue
        yield f"sc-{subset}-{i:06d}", scene, {"caption": pair[0], "negative_caption": pair[1]}
        i += 1


def winoground(cfg: WorldConfig, rng: random.Random) -> Iterator[tuple[str, Scene, Scene, dict]]:
    """2×2 sets: two objects whose colours (even ids) or positions (odd ids) are swapped."""
    for i in range(cfg.winoground_samples):
        c1, c2 = rng.sample(list(COLORS), 2)
        s1, s2 = rng.sample(list(SHAPES), 2)
        if i % 2 == 0:
            base = sample_scene(rng, [(c1, s1), (c2, s2)], 2)
            a, b = base["objects"]
            swapped = with_relations([{**a, "color": c2}, {**b, "color": c1}])
            captions = (_pair_caption((c1, s1), (c2, s2)), _pair_caption((c2, s1), (c1, s2)))
        else:
            base = sample_scene(rng, [(c1, s1), (c2, s2)], 2)
            a, b = base["objects"]
            swapped = with_relations(
                [{**a, "row": b["row"], "col": b["col"]}, {**b, "row": a["row"], "col": a["col"]}]
            )
            rel = base["relations"][0]["relation"]
            captions = (
                f"{d.article(d.name(a))} {rel} {d.article(d.name(b))}",
                f"{d.article(d.name(b))} {rel} {d.article(d.name(a))}",
            )
        yield f"wg-{i:06d}", base, swapped, {"caption_0": captions[0], "caption_1": captions[1]}
