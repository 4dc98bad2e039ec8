"""Evaluation splits in the formats `hqclip eval` reads (and users' own data can use):

- zeroshot/  classes.json {"classnames", "templates"}, samples.json [{"filename", "label"}]
- retrieval/ captions.json [{"filename", "captions": [...]}]
- sugarcrepe/<subset>.json {"id": {"filename", "caption", "negative_caption"}} (SugarCrepe's format)
- winoground/examples.json [{"id", "image_0", "image_1", "caption_0", "caption_1"}]

Every scene except the zero-shot ones carries a held-out colour–shape composition (never in
train); zero-shot covers all compositions, held-out ones included, one object per image."""

from __future__ import annotations

import random
from typing import Iterator

from hqclip.world import describe as d
from hqclip.world import edits
from hqclip.world.config import COLORS, SHAPES, WorldConfig, heldout_pairs
from hqclip.world.scene import Scene, all_pairs, sample_scene, with_relations

TEMPLATES = ["a photo of a {}.", "a {}.", "an image of a {}.", "a drawing of a {}.",
             "a {} on a plain background."]
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
    n = rng.randint(min_objects, cfg.max_objects)
    return sample_scene(rng, all_pairs(), n, first=rng.choice(heldout_pairs()))


def retrieval(cfg: WorldConfig, rng: random.Random) -> Iterator[Item]:
    for i in range(cfg.retrieval_samples):
        scene = _heldout_scene(rng, cfg)
        yield f"ret-{i:06d}", scene, {"captions": [d.short_caption(scene), " ".join(d.describe(scene))]}


def _pair_caption(a: tuple[str, str], b: tuple[str, str]) -> str:
    return f"{d.article(' '.join(a))} and {d.article(' '.join(b))}"


def _sugarcrepe_pair(subset: str, scene: Scene, rng: random.Random) -> tuple[str, str]:
    objs = scene["objects"]
    target = rng.randrange(len(objs))
    if subset in ("replace_att", "replace_obj"):
        edit = edits.recolor if subset == "replace_att" else edits.reshape
        neg = {"objects": [edit(o, scene, rng) if i == target else o for i, o in enumerate(objs)]}
        return d.short_caption(scene), d.short_caption(neg)
    if subset == "replace_rel":
        r = rng.choice(scene["relations"])
        subj, obj = objs[r["subject"]], objs[r["object"]]
        return (d.relation_sentence(subj, r["relation"], obj),
                d.relation_sentence(subj, edits.FLIP[r["relation"]], obj))
    if subset == "swap_att":
        have = edits.present(scene)
        options = [(a, b) for a in objs for b in objs
                   if a["color"] != b["color"] and a["shape"] != b["shape"]
                   and (b["color"], a["shape"]) not in have and (a["color"], b["shape"]) not in have]
        a, b = rng.choice(options)
        return (_pair_caption((a["color"], a["shape"]), (b["color"], b["shape"])),
                _pair_caption((b["color"], a["shape"]), (a["color"], b["shape"])))
    if subset == "add_obj":
        # both captions name the same number of objects: the other objects, then the target
        # (true) or an absent one (added), so caption length cannot give the answer away
        others = [(o["color"], o["shape"]) for i, o in enumerate(objs) if i != target]
        head = ", ".join(d.article(" ".join(p)) for p in others)
        true, extra = (objs[target]["color"], objs[target]["shape"]), rng.choice(edits.absent_pairs(scene))
        return (f"{head} and {d.article(' '.join(true))}", f"{head} and {d.article(' '.join(extra))}")
    raise ValueError(subset)


def _swappable(scene: Scene) -> bool:
    have = edits.present(scene)
    return any(a["color"] != b["color"] and a["shape"] != b["shape"]
               and (b["color"], a["shape"]) not in have and (a["color"], b["shape"]) not in have
               for a in scene["objects"] for b in scene["objects"])


def sugarcrepe(subset: str, cfg: WorldConfig, rng: random.Random) -> Iterator[Item]:
    min_objects = 2 if subset in ("replace_rel", "swap_att", "add_obj") else 1
    i = 0
    while i < cfg.sugarcrepe_per_subset:
        scene = _heldout_scene(rng, cfg, min_objects)
        if subset == "swap_att" and not _swappable(scene):
            continue
        caption, negative = _sugarcrepe_pair(subset, scene, rng)
        yield f"sc-{subset}-{i:06d}", scene, {"caption": caption, "negative_caption": negative}
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
            swapped = with_relations([{**a, "row": b["row"], "col": b["col"]},
                                      {**b, "row": a["row"], "col": a["col"]}])
            rel = base["relations"][0]["relation"]
            captions = (f"{d.article(d.name(a))} {rel} {d.article(d.name(b))}",
                        f"{d.article(d.name(b))} {rel} {d.article(d.name(a))}")
        yield f"wg-{i:06d}", base, swapped, {"caption_0": captions[0], "caption_1": captions[1]}

