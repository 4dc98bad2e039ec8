import json
import random

from hqclip.world import oracle, splits
from hqclip.world.blind import LIMIT, blind_test, bow, markdown, record_pairs, two_fold
from hqclip.world.build import train_sample
from hqclip.world.config import WorldConfig
from hqclip.world.kinds import KINDS

CFG = WorldConfig(seed=5, sugarcrepe_per_subset=800)


def test_the_bag_of_ngrams_finds_a_lexical_shortcut_and_only_that():
    rng = random.Random(0)
    words = ["red", "blue", "green", "small", "large", "circle", "star"]
    pairs = []
    for i in range(1200):
        a, b = rng.sample(words, 2)
        if i % 2:  # shortcut: the negative always says "striped"
            pairs.append((f"a {a} {b}", f"a striped {b}", "shortcut"))
        else:  # no clue: which word the positive has is random
            pairs.append((f"a {a} {b}", f"a {b} {a}", "fair"))
    acc = two_fold(pairs, bow, fit_vocab=True)
    assert acc["shortcut"]["acc"] > 0.95 and 0.4 < acc["fair"]["acc"] < 0.6


def test_every_training_negative_and_benchmark_subset_is_blind(tmp_path):
    records = [
        json.loads(
            oracle.simulate(
                train_sample(CFG, i)["json"]["scene"], random.Random(i), omission=0.1, hallucination=0.1
            )
        )
        for i in range(4000)
    ]
    kinds = {k for _, _, k in record_pairs(records)}
    assert set(KINDS) <= kinds and "other" not in kinds and "tag:other" not in kinds
    for subset in splits.SUBSETS:
        (tmp_path / "sugarcrepe").mkdir(exist_ok=True)
        items = splits.sugarcrepe(subset, CFG, random.Random(subset))
        (tmp_path / "sugarcrepe" / f"{subset}.json").write_text(
            json.dumps({str(i): e for i, (_, _, e) in enumerate(items)})
        )
    report = blind_test(records, tmp_path)
    assert set(report["benchmark"]) == {"all", *splits.SUBSETS}
    for group in report.values():
        for kind, r in group.items():
            assert r["bow"]["n"] >= 400, kind
            assert r["bow"]["acc"] <= LIMIT and r["pass"], (kind, r)
    assert "| benchmark | swap_att |" in markdown(report)
