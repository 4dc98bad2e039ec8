import json

import pytest

from hqclip.refine.conftest import VALID
from hqclip.refine.parse import MAX_RAW_CHARS, parse

GOOD = json.dumps(VALID)


def test_valid_answer_parses_and_normalises():
    rec, reason, dropped = parse("```json\n" + GOOD.replace("red circle", "red   circle") + "\n```")
    assert reason is None and rec["tags"] == ["red circle"] and dropped == []


def test_trailing_chatter_after_the_object_is_ignored():
    assert parse("Here you go: " + GOOD + "\nHope this helps!") == (VALID, None, [])


@pytest.mark.parametrize(
    "raw,finish,reason",
    [
        ("", None, "empty_output"),
        ("   \n", None, "empty_output"),
        (None, None, "empty_output"),
        ("The image shows a red circle.", None, "not_json"),
        ("I'm sorry, but I can't help with describing this image.", None, "refusal"),
        (GOOD[:40], None, "truncated_json"),
        (GOOD[:-1], None, "truncated_json"),
        ("{not json at all}", None, "not_json"),
        (GOOD, "length", "length"),
        ("x" * (MAX_RAW_CHARS + 1), None, "output_too_large"),
        ('{"desc": ["a"' + ', "a"' * 500_000 + "]}", None, "output_too_large"),  # ~1 MB
        (json.dumps({**VALID, "neg_desc": []}), None, "empty_list:neg_desc"),
        (json.dumps({**VALID, "desc": ["a", "b"]}), None, "misaligned:desc/neg_desc"),
        (json.dumps({**VALID, "neg_desc": VALID["desc"]}), None, "neg_equals_pos:neg_desc"),
        (json.dumps({k: v for k, v in VALID.items() if k != "tags"}), None, "missing_field:tags"),
        ('"just a string"', None, "not_json"),
        (json.dumps({**VALID, "desc": ["x" * 5000]}), None, "too_long:desc"),
        (json.dumps(VALID).replace("red circle", "red\x00circle", 1), None, "control_chars:desc"),
    ],
)
def test_malformed_output_gets_its_reason(raw, finish, reason):
    assert parse(raw, finish) == (None, reason, [])
    assert parse(raw, finish, salvage=True)[:2] == (None, reason)  # one-pair lists: nothing left


def test_the_first_object_in_the_text_is_the_answer():
    assert parse(json.dumps([VALID])) == (VALID, None, [])
    assert parse(json.dumps({"answer": VALID}))[1] == "missing_field:desc"


def test_salvage_keeps_the_good_pairs_of_a_partly_bad_answer():
    two = {
        **VALID,
        "desc": VALID["desc"] + ["a square above it"],
        "neg_desc": VALID["neg_desc"] + ["A square  above it"],
    }
    assert parse(json.dumps(two)) == (None, "neg_equals_pos:neg_desc", [])
    assert parse(json.dumps(two), salvage=True) == (VALID, None, ["neg_equals_pos:neg_desc@1"])
