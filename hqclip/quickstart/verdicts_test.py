"""The verdict rules on 3-seed inputs: each judges True, False, or None (undecided: one seed, so
the spread is unknown)."""

import pytest

from hqclip.quickstart.plan import CONTROL_FT, FINAL, SCRATCH_FINAL, START
from hqclip.quickstart.verdicts import CHANCE, claims, plateau, resolvable

CLEAR = ([0.10, 0.11, 0.12], [0.30, 0.31, 0.32])  # gain 0.2, spread 0.01
WITHIN = ([0.10, 0.20, 0.30], [0.15, 0.25, 0.35])  # gain 0.05, spread 0.1
ONE_SEED = ([0.10], [0.30])


@pytest.mark.parametrize(
    "vals, want",
    [
        ([0.60, 0.62, 0.64], True),  # 62 % > chance + spread (52 %)
        ([0.45, 0.55, 0.65], False),  # above chance, but not by more than its own spread (10 points)
        ([0.48, 0.50, 0.49], False),  # at chance
        ([0.90], None),  # one seed: not judged, however high
    ],
)
def test_a_subset_is_resolvable_when_its_control_clears_chance_plus_its_spread(vals, want):
    got = resolvable({("control: swap_att", 0.0): {"swap_att": vals, "replace_rel": [0.99] * 3}})
    assert set(got) == {"swap_att"}  # a control not trained judges nothing
    assert got["swap_att"]["resolvable"] is want and got["swap_att"]["n"] == len(vals)
    assert got["swap_att"]["bar"] == pytest.approx(CHANCE + got["swap_att"]["spread"])


@pytest.mark.parametrize(
    "alt, hq, want",
    [
        (*CLEAR, True),
        (*WITHIN, False),
        (*ONE_SEED, None),
        (CLEAR[0], [0.30], None),  # seeds of the smaller row
        ([0.30, 0.31, 0.32], [0.10, 0.11, 0.12], False),
    ],
)
@pytest.mark.parametrize(
    "base, row, claim",
    [
        (START, SCRATCH_FINAL, "from scratch: HQ-CLIP > alt-text CLIP on retrieval"),
        (CONTROL_FT, FINAL, "fine-tuned: HQ-CLIP > alt-text control on retrieval"),
    ],
)
def test_hqclip_beats_alt_text_clip_when_the_gain_exceeds_the_seed_spread(alt, hq, want, base, row, claim):
    groups = {(base, 0.1): {"retrieval R@1": alt}, (row, 0.1): {"retrieval R@1": hq}}
    got = {c["claim"]: c for c in claims(groups, 0.1)}
    assert got[claim]["holds"] is want and got[claim]["n"] == min(len(alt), len(hq))
    assert got[claim]["gain"] == pytest.approx(sum(hq) / len(hq) - sum(alt) / len(alt))
    assert all(c["n"] == 0 for name, c in got.items() if name != claim)  # the other path: not trained


@pytest.mark.parametrize("base, plus, want", [(*CLEAR, True), (*WITHIN, False), (*ONE_SEED, None)])
def test_hni_and_stc_gains_are_judged_on_their_own_family(base, plus, want):
    groups = {
        ("+ desc", 0.1): {"SugarCrepe": base},
        ("+ HNI", 0.1): {"SugarCrepe": plus, "ZS top-1": base},
        (FINAL, 0.1): {"ZS top-1": plus},
    }
    got = {c["claim"]: c["holds"] for c in claims(groups, 0.1)}
    assert got["HNI gain on compositional > seed spread"] is want
    assert got["STC gain on zero-shot > seed spread"] is want


def test_a_claim_without_its_rows_is_not_judged():
    got = claims({(FINAL, 0.1): {"ZS top-1": CLEAR[1]}}, 0.1)
    assert len(got) == 8 and all(c["holds"] is None and c["gain"] is None and c["n"] == 0 for c in got)
    other_error = {(CONTROL_FT, 0.3): {"ZS top-1": CLEAR[0]}, (FINAL, 0.3): {"ZS top-1": CLEAR[1]}}
    assert all(c["holds"] is None for c in claims(other_error, 0.1))  # rows at another error do not count


@pytest.mark.parametrize(
    "before, end, want",
    [
        ([0.50, 0.60, 0.70], [0.52, 0.62, 0.72], True),  # moved 2 points, spread 10
        ([0.10, 0.11, 0.12], [0.30, 0.31, 0.32], False),  # still climbing
        ([0.30, 0.31, 0.32], [0.10, 0.11, 0.12], False),  # a fall counts as a move too
        ([0.50], [0.50], None),  # one seed: not judged, even without a move
    ],
)
def test_a_curve_plateaus_when_its_last_move_is_within_the_seed_spread(before, end, want):
    got = plateau(
        {FINAL: {"ZS top-1": {250: [0.0] * len(end), 750: before, 1000: end}, "SugarCrepe": {1000: end}}}
    )  # one checkpoint: no verdict
    assert len(got) == 1 and got[0]["plateaued"] is want
    p = got[0]
    assert (p["variant"], p["family"], p["from"], p["to"]) == (FINAL, "ZS top-1", 750, 1000)
