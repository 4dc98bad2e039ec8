"""The frontier plot from eval's results: against zero-shot top-1 where it was measured, against α
where it was not, and a figure that says so where nothing it plots was measured."""

import pytest

from hqclip.eval.frontier import plot_frontier


def results(**per_model) -> dict:
    alphas = {f"α={a:g}": a for a in (0, 0.5, 1)}
    return {"models": {m: per_model for m in alphas}, "wise_ft": {"alphas": alphas}}


@pytest.mark.parametrize(
    "metrics",
    [
        {
            "zeroshot": {"acc1": 0.5},
            "retrieval": {"text_retrieval_recall@1": 0.2},
            "sugarcrepe": {"mean": 0.7},
        },
        {"sugarcrepe": {"mean": 0.7}},  # no zero-shot split: plotted against α
        {"winoground": {"group": 0.1}},  # nothing the frontier plots
    ],
)
def test_frontier_png_for_what_was_measured(tmp_path, metrics):
    plot_frontier(results(**metrics), tmp_path / "frontier.png")
    assert (tmp_path / "frontier.png").read_bytes()[:4] == b"\x89PNG"
