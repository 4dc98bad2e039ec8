import random

import pytest

from hqclip.train.texts import parse_neg_swap, parse_text_mix, sample_texts

REC = {"desc": ["a red circle.", "the circle is small.", "it is on the left."],
       "neg_desc": ["a blue circle.", "the circle is large.", "it is on the right."],
       "tags": ["red circle", "small circle", "left circle"],
       "neg_tags": ["blue circle", "large circle", "right circle"]}
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
    outs = [sample_texts("alt", REC, rng, parse_text_mix("alt=0.5,desc=0.5"), 1, max_tags=2)
            for _ in range(200)]
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
    with pytest.raises(ValueError):
        parse_text_mix("caption=1")
    with pytest.raises(ValueError):
        parse_neg_swap("0")
