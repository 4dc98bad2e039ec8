import jsonschema
import pytest

from hqclip.schema import LIMITS, RECORD_JSON_SCHEMA, normalize, validate

GOOD = {
    "desc": ["the image shows a vintage women's necklace made of 18K gold"],
    "neg_desc": ["the image shows a modern men's necklace made of silver"],
    "tags": ["vintage necklace", "18K gold necklace"],
    "neg_tags": ["modern necklace", "silver necklace"],
}


def test_good_record_is_valid_and_matches_json_schema():
    assert validate(GOOD) is None
    jsonschema.validate(GOOD, RECORD_JSON_SCHEMA)


@pytest.mark.parametrize("bad, reason", [
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
])
def test_each_rejection_reason(bad, reason):
    assert validate(bad) == reason


def test_normalize_strips_collapses_and_dedups_tags_keeping_alignment():
    rec = {"desc": ["  a  red\n circle "], "neg_desc": ["a blue circle"],
           "tags": ["Red circle", "red  circle", "circle"], "neg_tags": ["blue circle", "x", "square"]}
    out = normalize(rec)
    assert out["desc"] == ["a red circle"]
    assert out["tags"] == ["Red circle", "circle"]
    assert out["neg_tags"] == ["blue circle", "square"]
    assert validate(out) is None


def test_normalize_leaves_ill_typed_input_for_the_validator():
    bad = {"desc": "not a list"}
    assert normalize(bad) is bad
