from hqclip.refine.prompt import decode_schema, load_prompt
from hqclip.schema import RECORD_JSON_SCHEMA


def test_render_fills_alt_text_and_examples():
    p = load_prompt(few_shot=1)
    text = p.render("Vintage  necklace\n{examples}")
    assert "Alt-text: Vintage necklace {examples}" in text  # alt-text is not re-templated
    assert text.count("Answer: {") == 1
    assert load_prompt().render("").endswith("Alt-text: (none)\n")


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


def test_the_prompt_asks_for_the_kinds_of_negative_the_world_oracle_writes():
    """The refine prompt and the simulated LVLM say the same thing: the kinds of edit the prompt
    lists are exactly those the oracle's negatives make (named by a word diff)."""
    import json
    import random
    import re

    from hqclip.world import oracle
    from hqclip.world.build import train_sample
    from hqclip.world.config import WorldConfig
    from hqclip.world.kinds import PROMPT_KIND, edit_kind

    cfg = WorldConfig()
    written = set()
    for i in range(500):
        rec = json.loads(oracle.simulate(train_sample(cfg, i)["json"]["scene"], random.Random(i)))
        written |= {PROMPT_KIND[edit_kind(p, n)] for p, n in zip(rec["desc"], rec["neg_desc"])}
    for text_only in (False, True):
        named = set(re.findall(r"^  - (\w+): ", load_prompt(text_only=text_only).template, re.M))
        assert named == written == set(PROMPT_KIND.values())


def test_pairs_fixes_every_list_length_so_decoded_lists_stay_aligned():
    s = decode_schema(max_chars=10, pairs=3)
    assert all(p["minItems"] == p["maxItems"] == 3 for p in s["properties"].values())
    assert decode_schema(max_items=2, pairs=3)["properties"]["desc"]["minItems"] == 2
