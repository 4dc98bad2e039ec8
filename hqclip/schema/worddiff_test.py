import pytest

from hqclip.schema.worddiff import EDIT_CLASSES, edit_class, words
from hqclip.world.kinds import edit_kind


@pytest.mark.parametrize(
    "pos, neg, kind",
    [
        ("a vintage gold necklace", "a modern gold necklace", "one word replaced"),
        ("the cup is left of the plate", "the cup is right of the plate", "one word replaced"),
        ("a red circle", "an orange circle", "one word replaced"),  # a/an agreement is no edit
        ("a small red circle", "a small blue square", "adjacent words replaced"),
        ("a red cup on a wooden table", "a blue cup on a metal table", "words replaced"),
        ("a red circle and a blue square", "a blue circle and a red square", "words swapped"),
        ("the dog chases the cat", "the cat chases the dog", "words swapped"),
        ("a dog on the grass", "a dog not on the grass", "words inserted"),
        ("two dogs on the wet grass", "two dogs on the grass", "words deleted"),
        ("a dog on the grass", "three cats asleep", "rewritten"),
        ("A dog.", "a dog", "no word changed"),
    ],
)
def test_edit_class_names_the_generic_kind(pos, neg, kind):
    assert edit_class(pos, neg) == kind and kind in EDIT_CLASSES


def test_the_world_reads_the_same_diff():
    assert words("An Orange, circle!") == ["a", "orange", "circle"]
    pos = "a small red circle is left of a large blue square."
    assert edit_kind(pos, "a small blue circle is left of a large red square.") == "binding"
    assert edit_class(pos, "a small blue circle is left of a large red square.") == "words swapped"
    assert edit_kind(pos, "a small red circle is right of a large blue square.") == "relation"
