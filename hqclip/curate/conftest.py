"""Fixtures for the curate tests: a small world refined at 30 % simulated captioner error (with
malformed answers, so some rows are invalid), its scores by a random-weight hqclip-micro, and how
two score tables are compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hqclip.curate.score_format import read_scores
from hqclip.refine.config import RefineConfig
from hqclip.refine.conftest import small_world
from hqclip.refine.runners import run_refine

MODEL = "hqclip-micro"  # random init, seed 0: no checkpoint needed
NOISY = {"omission": 0.3, "hallucination": 0.3, "malformed": 0.3}


def refine_world(root: Path, samples: int = 200, shard_size: int = 50, seed: int = 0) -> tuple[Path, Path]:
    """(world, its oracle sidecars); retries 0, so malformed answers stay invalid rows."""
    world = small_world(root / "world", samples, shard_size, seed)
    run_refine(
        RefineConfig(backend="oracle", max_retries=0, options=NOISY),
        world / "train",
        root / "sidecars",
        progress=False,
    )
    return world, root / "sidecars"


def rows_of(folder):
    return [r for p in sorted(folder.glob("*.parquet")) for r in read_scores(p)]


def close(a, b):
    """Two score tables equal: same keys and statuses, scores equal to float32 rounding."""
    assert [(r["uid"], r["key"], r["status"]) for r in a] == [(r["uid"], r["key"], r["status"]) for r in b]
    for x, y in zip(a, b):
        for k in ("alt", "desc", "neg_desc", "margin", "tags", "neg_tags"):
            assert (x[k] is None) == (y[k] is None), k
            if x[k] is not None:
                np.testing.assert_allclose(x[k], y[k], atol=2e-5)


@pytest.fixture(scope="session")
def refined(tmp_path_factory) -> tuple[Path, Path]:
    return refine_world(tmp_path_factory.mktemp("curate"))


@pytest.fixture(scope="session")
def scored(refined, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(world, sidecars, scores)."""
    from hqclip.curate.score import run_score

    world, sidecars = refined
    scores = tmp_path_factory.mktemp("scores") / "scores"
    run_score(MODEL, world, sidecars, scores, progress=False)
    return world, sidecars, scores
