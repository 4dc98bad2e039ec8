"""The seed set (`--sample N --seed S`): about N samples from every shard, the same ones on a
rerun, other ones under another seed, resumable, and never resumed into by another sample."""

import json

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.sidecar import read_sidecar
from hqclip.errors import ConfigMismatch
from hqclip.refine.config import RefineConfig
from hqclip.refine.pipeline_test import rows_of
from hqclip.refine.runners import run_refine


def _uids(out):
    return {r["uid"] for r in rows_of(out)}


def test_a_seed_set_is_about_n_samples_from_every_shard_and_reproducible(world, tmp_path):
    res = CliRunner().invoke(
        app,
        ["refine", "--input", str(world), "--output", str(tmp_path / "a"), "--sample", "60", "--seed", "3"],
    )
    assert res.exit_code == 0, res.output
    rows = rows_of(tmp_path / "a")
    assert 40 <= len(rows) <= 80  # 60 of 200, binomial sd ≈ 6.5
    assert json.loads(res.stdout.strip().splitlines()[-1])["samples"] == len(rows)
    assert all(read_sidecar(tmp_path / "a" / f"shard-00000{i}.parquet") for i in range(4))
    run_refine(RefineConfig(sample=60, seed=3), world, tmp_path / "b", progress=False)
    assert _uids(tmp_path / "b") == _uids(tmp_path / "a")
    run_refine(RefineConfig(sample=60, seed=4), world, tmp_path / "c", progress=False)
    assert len(_uids(tmp_path / "c") & _uids(tmp_path / "a")) < 0.6 * len(rows)  # ~30 % overlap
    everything = run_refine(RefineConfig(sample=10_000, seed=3), world, tmp_path / "d", progress=False)
    assert everything["total"]["samples"] == 200  # N above the total: all of it


def test_a_seed_set_resumes_and_another_sample_never_resumes_into_it(world, tmp_path):
    out = tmp_path / "out"
    first = run_refine(RefineConfig(sample=50), world, out, progress=False)
    (out / "shard-000002.parquet.done").unlink()  # a run stopped before this shard was done
    again = run_refine(RefineConfig(sample=50), world, out, progress=False)
    assert again["this_run"]["shards_done"] == 1 and again["total"]["samples"] == first["total"]["samples"]
    for other in (RefineConfig(sample=51), RefineConfig(sample=50, seed=1), RefineConfig()):
        with pytest.raises(ConfigMismatch, match="sample"):
            run_refine(other, world, out, progress=False)


def test_a_sample_of_no_samples_is_refused(world, tmp_path):
    res = CliRunner().invoke(
        app, ["refine", "--input", str(world), "--output", str(tmp_path / "o"), "--sample", "0"]
    )
    assert res.exit_code == 2 and res.stderr.strip() == (
        "hqclip refine: --sample 0: give a number of samples of at least 1"
    )
