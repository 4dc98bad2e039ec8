"""Exactly-once under `kill -9`: `hqclip score` killed while shards are in flight, then rerun, gives
the scores of an uninterrupted run, every sample scored once."""

import subprocess
import sys

import pytest

from hqclip.curate.conftest import MODEL, close, refine_world, rows_of

pytestmark = pytest.mark.slow

SHARDS, PER_SHARD = 8, 50


def score_cmd(world, sidecars, out, *extra):
    return [
        sys.executable,
        "-m",
        "hqclip.cli.main",
        "score",
        "--model",
        MODEL,
        "--input",
        str(world),
        "--sidecars",
        str(sidecars),
        "--output",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_kill_9_then_rerun_scores_every_sample_once(tmp_path, kill_9):
    world, sidecars = refine_world(tmp_path, SHARDS * PER_SHARD, PER_SHARD)
    subprocess.run(score_cmd(world, sidecars, tmp_path / "ref"), check=True, capture_output=True)
    out = tmp_path / "out"
    # one image per forward pass: slow enough that the kill lands between shards
    mid_run = kill_9(
        score_cmd(world, sidecars, out, "--batch-size", "1"),
        lambda: list(out.glob("*.done")) and list(out.glob("*.running")),
    )
    assert mid_run, "the run ended before a shard was in flight"
    assert 1 <= len(list(out.glob("*.done"))) < SHARDS
    assert list(out.glob("*.running"))  # the killed run's shard in flight
    subprocess.run(score_cmd(world, sidecars, out), check=True, capture_output=True)
    assert len(list(out.glob("*.done"))) == SHARDS and not list(out.glob("*.running"))
    assert not list(out.glob(".*.tmp-*"))
    rows = rows_of(out)
    assert len(rows) == len({r["uid"] for r in rows}) == SHARDS * PER_SHARD
    close(rows, rows_of(tmp_path / "ref"))
