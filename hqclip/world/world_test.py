import json
import random
import re

import pytest
import webdataset as wds

from hqclip.data.shards import list_shards
from hqclip.world import describe, splits
from hqclip.world.build import build_world, train_sample
from hqclip.world.config import COLORS, SHAPES, WorldConfig, heldout_pairs
from hqclip.world.kinds import SUBSET_KIND, edit_kind

TINY = WorldConfig(
    seed=3,
    train_samples=300,
    shard_size=100,
    zeroshot_per_class=2,
    retrieval_samples=20,
    sugarcrepe_per_subset=12,
    winoground_samples=6,
)
PAIR = re.compile(rf"\b({'|'.join(COLORS)}) ({'|'.join(SHAPES)})\b")


def _files(root):
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "world.json"
    }


def test_same_seed_same_world_whatever_the_workers(tmp_path):
    a = build_world(tmp_path / "a", TINY, workers=1, progress=False)
    build_world(tmp_path / "b", TINY, workers=2, progress=False)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert a["train"]["shards"] == [
        "train/shard-000000.tar",
        "train/shard-000001.tar",
        "train/shard-000002.tar",
    ]
    assert build_world(tmp_path / "a", TINY, progress=False)["cached"] is True
    other = WorldConfig(**{**TINY.as_dict(), "seed": 4, "alt_text": TINY.alt_text})
    assert train_sample(other, 0)["png"] != train_sample(TINY, 0)["png"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    build_world(root, TINY, workers=1, progress=False)
    return root


def test_train_never_shows_a_heldout_composition(world):
    heldout = set(heldout_pairs())
    assert list_shards(world) == sorted(
        (world / "train").glob("*.tar")
    )  # a world folder reads as its train shards
    ds = wds.WebDataset(str(world / "train" / "shard-{000000..000002}.tar"), shardshuffle=False)
    seen, n = set(), 0
    for s in ds:
        scene = json.loads(s["json"])["scene"]
        seen |= {(o["color"], o["shape"]) for o in scene["objects"]}
        n += 1
    assert n == 300
    assert not seen & heldout
    assert {c for c, _ in seen} == set(COLORS) and {s for _, s in seen} == set(SHAPES)


def test_eval_splits_have_the_documented_formats_and_heldout_pairs(world):
    ev = world / "eval"
    classes = json.loads((ev / "zeroshot" / "classes.json").read_text())
    assert len(classes["classnames"]) == 36 and "{}" in classes["templates"][0]
    assert set(classes["heldout"]) <= set(classes["classnames"])
    zs = json.loads((ev / "zeroshot" / "samples.json").read_text())
    assert len(zs) == 72 and all((ev / "zeroshot" / e["filename"]).exists() for e in zs)
    ret = json.loads((ev / "retrieval" / "captions.json").read_text())
    heldout = {" ".join(p) for p in heldout_pairs()}
    for e in ret:
        assert len(e["captions"]) == 2 and (ev / "retrieval" / e["filename"]).exists()
        assert {" ".join(m) for m in PAIR.findall(e["captions"][0])} & heldout
    for subset in splits.SUBSETS:
        sc = json.loads((ev / "sugarcrepe" / f"{subset}.json").read_text())
        assert len(sc) == 12
        for e in sc.values():
            assert e["caption"] != e["negative_caption"]
            assert (ev / "sugarcrepe" / e["filename"]).exists()
    wg = json.loads((ev / "winoground" / "examples.json").read_text())
    assert len(wg) == 6 and all((ev / "winoground" / e["image_1"]).exists() for e in wg)


def _pairs(text):
    return set(PAIR.findall(text))


@pytest.mark.parametrize("subset", splits.SUBSETS)
def test_sugarcrepe_caption_true_negative_false_one_edit_of_its_kind(subset):
    heldout = set(heldout_pairs())
    for _, scene, e in splits.sugarcrepe(subset, TINY, random.Random(0)):
        have = {(o["color"], o["shape"]) for o in scene["objects"]}
        objs = {(o["color"], o["shape"]): o for o in scene["objects"]}
        assert _pairs(e["caption"]) <= have
        assert edit_kind(e["caption"], e["negative_caption"]) == SUBSET_KIND[subset]
        # both name the same number of held-out compositions: which ones a caption names is no clue
        assert len(_pairs(e["caption"]) & heldout) == len(_pairs(e["negative_caption"]) & heldout)
        if subset == "replace_rel":
            m = re.match(
                r"the (\w+ \w+) is (left of|right of|above|below) the (\w+ \w+)\.", e["negative_caption"]
            )
            a, rel, b = objs[tuple(m[1].split())], m[2], objs[tuple(m[3].split())]
            from hqclip.world.scene import relation

            assert relation(a, b) != rel
        else:
            assert not _pairs(e["negative_caption"]) <= have
        if subset == "add_obj":
            assert len(_pairs(e["caption"])) == len(_pairs(e["negative_caption"])) >= 2


def test_retrieval_scenes_are_distinct_and_captioned_both_ways():
    items = list(splits.retrieval(TINY, random.Random(0)))
    keys = {tuple(sorted(describe.phrase(o) for o in sc["objects"])) for _, sc, _ in items}
    assert len(keys) == len(items) == TINY.retrieval_samples
    for _, scene, e in items:
        assert e["captions"][1] == " ".join(describe.describe(scene))
        assert len(scene["objects"]) >= 2


def test_winoground_sets_are_2x2():
    for _, s0, s1, e in splits.winoground(TINY, random.Random(1)):
        p0 = {(o["color"], o["shape"]) for o in s0["objects"]}
        p1 = {(o["color"], o["shape"]) for o in s1["objects"]}
        if p0 != p1:  # attribute swap: each caption names exactly its own image's objects
            assert _pairs(e["caption_0"]) == p0 and _pairs(e["caption_1"]) == p1
        else:  # position swap: same objects, relation reversed
            assert s0["relations"][0]["relation"] != s1["relations"][0]["relation"]
