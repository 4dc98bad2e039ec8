import jsonschema
import pytest

from hqclip.schema import LIMITS, RECORD_JSON_SCHEMA, check, normalize, validate

GOOD = {
    "desc": ["the image shows a vintage women's necklace made of 18K gold"],
    "neg_desc": ["the image shows a modern men's necklace made of silver"],
    "tags": ["vintage necklace", "18K gold necklace"],
    "neg_tags": ["modern necklace", "silver necklace"],
}


def test_good_record_is_valid_and_matches_json_schema():
    assert validate(GOOD) is None
    jsonschema.validate(GOOD, RECORD_JSON_SCHEMA)


@pytest.mark.parametrize(
    "bad, reason",
    [
        ([], "not_an_object"),
        ("text", "not_an_object"),
        ({k: v for k, v in GOOD.items() if k != "tags"}, "missing_field:tags"),
        ({**GOOD, "caption": "x"}, "unknown_field:caption"),
        ({**GOOD, "desc": "one string"}, "wrong_type:desc"),
        ({**GOOD, "tags": ["ok", 3]}, "wrong_type:tags"),
        ({**GOOD, "desc": [], "neg_desc": []}, "empty_list:desc"),
        ({**GOOD, "desc": ["a"] * 17, "neg_desc": ["b"] * 17}, "too_many_items:desc"),
        ({**GOOD, "neg_tags": ["modern necklace", "   "]}, "empty_item:neg_tags"),
        ({**GOOD, "desc": ["x" * (LIMITS["desc"]["max_chars"] + 1)]}, "too_long:desc"),
        ({**GOOD, "tags": ["vintage\x00necklace", "18K gold necklace"]}, "control_chars:tags"),
        ({**GOOD, "neg_desc": GOOD["neg_desc"] * 2}, "misaligned:desc/neg_desc"),
        ({**GOOD, "neg_tags": ["modern necklace"]}, "misaligned:tags/neg_tags"),
        ({**GOOD, "neg_desc": [GOOD["desc"][0].upper()]}, "neg_equals_pos:neg_desc"),
        ({**GOOD, "neg_tags": ["Vintage Necklace", "silver necklace"]}, "neg_equals_pos:neg_tags"),
        ({**GOOD, "tags": ["gold", "GOLD"], "neg_tags": ["silver", "tin"]}, "duplicate_tag"),
    ],
)
def test_each_rejection_reason(bad, reason):
    assert validate(bad) == reason


def test_normalize_strips_collapses_and_dedups_tags_keeping_alignment():
    rec = {
        "desc": ["  a  red\n circle "],
        "neg_desc": ["a blue circle"],
        "tags": ["Red circle", "red  circle", "circle"],
        "neg_tags": ["blue circle", "x", "square"],
    }
    out = normalize(rec)
    assert out["desc"] == ["a red circle"]
    assert out["tags"] == ["Red circle", "circle"]
    assert out["neg_tags"] == ["blue circle", "square"]
    assert validate(out) is None


def test_normalize_leaves_ill_typed_input_for_the_validator():
    bad = {"desc": "not a list"}
    assert normalize(bad) is bad


TWO = {
    "desc": ["a red circle on the left", "a blue square on the right"],
    "neg_desc": ["a green circle on the left", "a blue square on the left"],
    "tags": ["red circle", "blue square"],
    "neg_tags": ["green circle", "blue cross"],
}


@pytest.mark.parametrize(
    "field, i, bad, reason",
    [
        ("neg_desc", 0, TWO["desc"][0].upper(), "neg_equals_pos:neg_desc"),
        ("desc", 1, "x" * (LIMITS["desc"]["max_chars"] + 1), "too_long:desc"),
        ("neg_tags", 1, "  ", "empty_item:neg_tags"),
        ("tags", 0, "red\x07circle", "control_chars:tags"),
        ("tags", 1, "Red Circle", "duplicate_tag"),
    ],
)
def test_salvage_drops_only_the_failing_pair_and_names_it(field, i, bad, reason):
    rec = {f: list(v) for f, v in TWO.items()}
    rec[field][i] = bad
    assert validate(rec) == reason
    out, why, dropped = check(rec, salvage=True)
    assert why is None and dropped == [f"{reason}@{i}"] and validate(out) is None
    pos, neg = ("desc", "neg_desc") if "desc" in field else ("tags", "neg_tags")
    assert out[pos] == [TWO[pos][1 - i]] and out[neg] == [TWO[neg][1 - i]]
    other = ("tags", "neg_tags") if pos == "desc" else ("desc", "neg_desc")
    assert all(out[f] == TWO[f] for f in other)


def test_a_list_left_without_pairs_is_invalid_with_every_drop_named():
    rec = {**TWO, "neg_desc": [d.upper() for d in TWO["desc"]], "neg_tags": ["x" * 65, "cross"]}
    out, why, dropped = check(rec, salvage=True)
    assert why == "neg_equals_pos:neg_desc" and out is rec
    assert dropped == ["neg_equals_pos:neg_desc@0", "neg_equals_pos:neg_desc@1"]


@pytest.mark.parametrize(
    "bad",
    [
        {**TWO, "neg_desc": TWO["neg_desc"][:1]},  # misaligned: never guessed at
        {**TWO, "tags": "red circle"},
        {k: v for k, v in TWO.items() if k != "neg_tags"},
        ["not", "an", "object"],
    ],
)
def test_what_salvage_does_not_touch(bad):
    out, why, dropped = check(bad, salvage=True)
    assert why == validate(bad) is not None and out is bad and dropped == []


def test_a_valid_record_comes_back_untouched():
    assert check(GOOD, salvage=True) == (GOOD, None, []) and check(GOOD)[0] is GOOD
