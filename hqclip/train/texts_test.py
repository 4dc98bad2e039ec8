import random

import pytest

from hqclip.errors import UserError
from hqclip.train.texts import alt_negative, parse_neg_swap, parse_text_mix, sample_texts

REC = {
    "desc": ["a red circle.", "the circle is small.", "it is on the left."],
    "neg_desc": ["a blue circle.", "the circle is large.", "it is on the right."],
    "tags": ["red circle", "small circle", "left circle"],
    "neg_tags": ["blue circle", "large circle", "right circle"],
}
DESC_ONLY = {"alt": 0.0, "desc": 1.0}


def test_no_annotation_falls_back_to_alt_text():
    assert sample_texts("alt", None, random.Random(0), DESC_ONLY, 1) == ("alt", None, [], [])


def test_negative_swaps_k_aligned_sentences():
    for seed in range(20):
        pos, neg, _, _ = sample_texts("alt", REC, random.Random(seed), DESC_ONLY, 1)
        assert pos == " ".join(REC["desc"])
        swapped = [i for i in range(3) if REC["neg_desc"][i] in neg]
        assert len(swapped) == 1 and all(REC["desc"][i] in neg for i in range(3) if i not in swapped)
    _, neg, _, _ = sample_texts("alt", REC, random.Random(0), DESC_ONLY, None)
    assert neg == " ".join(REC["neg_desc"])


def test_text_mix_and_tags():
    rng = random.Random(0)
    outs = [
        sample_texts("alt", REC, rng, parse_text_mix("alt=0.5,desc=0.5"), 1, max_tags=2) for _ in range(200)
    ]
    n_alt = sum(o[0] == "alt" for o in outs)
    assert 70 < n_alt < 130
    assert all(o[1] is not None for o in outs)  # the negative exists even when alt-text is the positive
    for _, _, tags, neg_tags in outs:
        assert len(tags) == 2 and [REC["neg_tags"][REC["tags"].index(t)] for t in tags] == neg_tags
    # empty alt-text never wins over a description
    assert sample_texts("", REC, random.Random(0), {"alt": 1.0, "desc": 0.0}, 1)[0] == " ".join(REC["desc"])


def test_parsers():
    assert parse_text_mix("alt=1,desc=3") == {"alt": 0.25, "desc": 0.75}
    assert parse_neg_swap("all") is None and parse_neg_swap("2") == 2
    with pytest.raises(UserError, match="--text-mix 'caption=1'"):
        parse_text_mix("caption=1")
    with pytest.raises(UserError, match="--text-mix 'alt=x'"):
        parse_text_mix("alt=x")
    with pytest.raises(UserError, match="--neg-swap '0'"):
        parse_neg_swap("0")
    with pytest.raises(UserError, match="--neg-swap 'x'"):
        parse_neg_swap("x")


def test_alt_negative_swaps_a_named_tag_in_the_alt_texts_own_form():
    rng = random.Random(0)
    assert alt_negative("Red Circles stock photo", REC, rng) == "Blue Circles stock photo"
    assert alt_negative("SMALL CIRCLE | IMG_1234.png", REC, rng) == "LARGE CIRCLE | IMG_1234.png"
    assert alt_negative("a bored circle", REC, rng) is None  # whole words only
    assert alt_negative("geometric shapes", REC, rng) is None
    seen = {alt_negative("red circle, small circle", REC, random.Random(s)) for s in range(20)}
    assert seen == {"blue circle, small circle", "red circle, large circle"}


def test_alt_neg_applies_to_alt_text_positives_only():
    mix = parse_text_mix("alt=0.5,desc=0.5")
    outs = [
        sample_texts("red circle wallpaper", REC, random.Random(s), mix, 1, alt_neg=True) for s in range(100)
    ]
    alt = [o for o in outs if o[0] == "red circle wallpaper"]
    desc = [o for o in outs if o[0] != "red circle wallpaper"]
    assert alt and desc
    assert all(neg == "blue circle wallpaper" for _, neg, _, _ in alt)
    assert all(neg.count(".") == 3 for _, neg, _, _ in desc)  # the description's negative
    # an alt-text naming no tag keeps the description's negative
    _, neg, _, _ = sample_texts(
        "wallpaper", REC, random.Random(0), {"alt": 1.0, "desc": 0.0}, 1, alt_neg=True
    )
    assert neg.count(".") == 3
