import collections
import json
import random
import re

from hqclip.schema import normalize, validate
from hqclip.world import oracle
from hqclip.world.build import train_sample
from hqclip.world.config import WorldConfig
from hqclip.world.describe import describe, holds
from hqclip.world.kinds import KINDS, edit_kind

CFG = WorldConfig(seed=0)


def _scenes(n=300):
    return [train_sample(CFG, i)["json"]["scene"] for i in range(n)]


def _reason(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return "not_json"
    return validate(normalize(obj))


def test_perfect_oracle_is_always_valid_and_complete():
    for i, scene in enumerate(_scenes()):
        rec = json.loads(oracle.simulate(scene, random.Random(i)))
        assert validate(rec) is None
        assert rec["desc"] == describe(scene)
        assert all(holds(scene, s) is True for s in rec["desc"])
        assert all(holds(scene, s) is False for s in rec["neg_desc"])  # every negative is false
        for o in scene["objects"]:
            assert f"{o['color']} {o['shape']}" in rec["tags"]
            assert f"{o['color']} {o['shape']}" not in rec["neg_tags"]


def test_each_negative_is_one_edit_and_every_kind_is_written():
    kinds = collections.Counter()
    for i, scene in enumerate(_scenes(2000)):
        rec = json.loads(oracle.simulate(scene, random.Random(i), omission=0.1, hallucination=0.1))
        kinds.update(edit_kind(p, n) for p, n in zip(rec["desc"], rec["neg_desc"]))
    assert None not in kinds and set(kinds) == set(KINDS)
    share = {k: v / sum(kinds.values()) for k, v in kinds.items()}
    assert all(0.08 < v < 0.3 for v in share.values()), share


def test_kinds_knob_writes_only_that_kind_and_leaves_out_what_cannot_take_it():
    for kind in KINDS:
        for i, scene in enumerate(_scenes(100)):
            rec = oracle.record(scene, random.Random(i), kinds=(kind,))
            assert all(edit_kind(p, n) == kind for p, n in zip(rec["desc"], rec["neg_desc"]))
            if kind in ("relation", "binding") and len(scene["objects"]) == 1:
                assert rec["desc"] == []


def test_malformed_rate_gives_invalid_outputs_of_every_kind():
    reasons = [_reason(oracle.simulate(s, random.Random(i), malformed=1.0)) for i, s in enumerate(_scenes())]
    assert all(r is not None for r in reasons)
    kinds = {r.split(":")[0] for r in reasons}
    assert {"not_json", "misaligned", "neg_equals_pos", "too_long"} <= kinds


def test_omission_and_hallucination_degrade_but_stay_valid():
    full = omitted = wrong = 0
    for i, scene in enumerate(_scenes()):
        rec = json.loads(oracle.simulate(scene, random.Random(i), omission=0.5, hallucination=0.5))
        assert validate(rec) is None
        have = {f"{o['color']} {o['shape']}" for o in scene["objects"]}
        named = {t for t in rec["tags"] if t.split()[0] not in ("small", "large")}
        full += len(scene["objects"])
        omitted += len(have - named)
        wrong += len(named - have)
    assert 0.3 < omitted / full < 0.8 and wrong > 0


def test_no_training_text_names_a_heldout_composition():
    """Alt-text (wrong attributes included) and every oracle list (hallucinations, negatives, tags)
    stay within the train compositions: a held-out pair seen only in negatives would be learnt as
    "always false" and bias every held-out evaluation against HNI and STC."""
    from hqclip.world.config import COLORS, SHAPES, heldout_pairs

    mention = re.compile(rf"\b({'|'.join(COLORS)}) ({'|'.join(SHAPES)})", re.IGNORECASE)
    heldout = {" ".join(p) for p in heldout_pairs()}
    named = set()
    for i in range(2000):
        sample = train_sample(CFG, i)
        rec = json.loads(
            oracle.simulate(sample["json"]["scene"], random.Random(i), omission=0.3, hallucination=0.5)
        )
        texts = [sample["txt"], *rec["desc"], *rec["neg_desc"], *rec["tags"], *rec["neg_tags"]]
        named |= {" ".join(m).lower() for t in texts for m in mention.findall(t)}
    assert not named & heldout
    assert len(named) == 36 - len(heldout)  # every other composition does appear
