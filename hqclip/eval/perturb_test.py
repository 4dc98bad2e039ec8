"""ARO order perturbations: deterministic, distinct from the caption, same words."""

from hqclip.eval.perturb import perturbations, world_vocab

CAP = "a large red circle and a small blue square."
NOUNS, ADJS = {"circle", "square"}, {"large", "small", "red", "blue"}


def test_same_words_new_order_deterministic():
    out = perturbations(CAP, NOUNS, ADJS)
    assert len(out) == 4 and len(set(out)) == 4 and CAP not in out
    assert all(sorted(p.rstrip(".").split()) == sorted(CAP.rstrip(".").split()) for p in out)
    assert out == perturbations(CAP, NOUNS, ADJS)


def test_noun_adjective_shuffle_keeps_other_words_in_place():
    words = perturbations(CAP, NOUNS, ADJS)[0].rstrip(".").split()
    assert [w for w in words if w not in NOUNS | ADJS] == ["a", "and", "a"]
    assert words[0] == "a" and words[4] == "and"


def test_without_vocabulary_and_short_captions():
    assert len(perturbations(CAP)) == 2  # the two trigram shuffles
    assert perturbations("cat") == []


def test_world_vocab(world, tmp_path):
    nouns, adjs = world_vocab(world / "eval")
    assert {"circle", "circles"} <= nouns and {"red", "large"} <= adjs
    assert world_vocab(tmp_path / "eval") == (set(), set())
