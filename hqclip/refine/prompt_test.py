from hqclip.refine.prompt import decode_schema, load_prompt
from hqclip.schema import RECORD_JSON_SCHEMA


def test_render_fills_alt_text_and_examples():
    p = load_prompt(few_shot=1)
    text = p.render("Vintage  necklace\n{examples}")
    assert "Alt-text: Vintage necklace {examples}" in text  # alt-text is not re-templated
    assert text.count("Answer: {") == 1
    assert load_prompt().render("") .endswith("Alt-text: (none)\n")


def test_hash_follows_template_and_examples(tmp_path):
    base = load_prompt()
    assert load_prompt().hash == base.hash
    assert load_prompt(few_shot=0).hash != base.hash
    assert load_prompt(text_only=True).hash != base.hash
    custom = tmp_path / "p.txt"
    custom.write_text("Describe. {alt_text}")
    p = load_prompt(custom)
    assert p.render("a dog") == "Describe. a dog" and p.hash != base.hash


def test_decode_schema_only_tightens():
    s = decode_schema(max_items=2, max_chars=10)
    assert s["properties"]["tags"]["maxItems"] == 2
    assert s["properties"]["desc"]["items"]["maxLength"] == 10
    assert decode_schema() == RECORD_JSON_SCHEMA
