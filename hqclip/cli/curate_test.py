"""`hqclip score`, `filter`, `report` from the command line: on the world and on a plain
img2dataset-style folder (the filtered sidecars train), and every malformed input refused in one
line that names the file, exit code 2, before any work."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.curate.conftest import MODEL, refine_world
from hqclip.train.conftest import make_dataset


def cli(*args) -> str:
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, f"hqclip {' '.join(map(str, args))}\n{r.output}"
    return r.stdout


def refused(command: str, *args, names: str, says: str, nothing_in=None) -> str:
    r = CliRunner().invoke(app, [command, *map(str, args)])
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit) and "Traceback" not in r.output
    line = r.stderr.strip()
    assert line.startswith(f"hqclip {command}: ") and "\n" not in line, r.stderr
    assert str(names) in line and says in line, line
    if nothing_in is not None:  # refused before any work
        assert not nothing_in.exists() or not any(nothing_in.iterdir())
    return line


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A refined world with its scores, and a second world (other uids, same shard names)."""
    root = tmp_path_factory.mktemp("cli")
    world, sidecars = refine_world(root / "a", samples=60, shard_size=20)
    other, other_sidecars = refine_world(root / "b", samples=60, shard_size=20, seed=5)
    cli(
        "score",
        "-m",
        MODEL,
        "--input",
        world,
        "--sidecars",
        sidecars,
        "--output",
        root / "scores",
        "--no-progress",
    )
    cli(
        "score",
        "-m",
        MODEL,
        "--input",
        other,
        "--sidecars",
        other_sidecars,
        "--output",
        root / "other-scores",
        "--no-progress",
    )
    return {
        "world": world,
        "sidecars": sidecars,
        "scores": root / "scores",
        "other": other,
        "other_sidecars": other_sidecars,
        "other_scores": root / "other-scores",
    }


def test_the_three_commands_on_the_world(data, tmp_path):
    out = json.loads(
        cli(
            "filter",
            "--sidecars",
            data["sidecars"],
            "--scores",
            data["scores"],
            "--output",
            tmp_path / "f",
            "--drop-bottom-pct",
            "10",
            "--min-sample-score",
            "-0.05",
            "--no-progress",
        )
    )
    assert out["sentences_out"] < out["sentences_in"] and out["rules"]["min_score"] is not None
    text = cli(
        "report",
        "--sidecars",
        data["sidecars"],
        "--scores",
        data["scores"],
        "--input",
        data["world"],
        "--output",
        tmp_path / "r0",
        "--samples",
        "5",
        "--no-progress",
        "--world-kinds",
    )
    assert "% valid" in text and "world kind" in text and "| margin |" in text
    text = cli(
        "report",
        "--sidecars",
        tmp_path / "f",
        "--input",
        data["world"],
        "--output",
        tmp_path / "r",
        "--samples",
        "5",
        "--no-progress",
    )
    assert "world kind" not in text  # opt-in
    reasons = json.loads((tmp_path / "r" / "report.json").read_text())["invalid_reasons"]
    assert (
        reasons.get("filtered:min_score", 0)
        + reasons.get("filtered:no_sentence_left", 0)
        + reasons.get("filtered:min_sample_score", 0)
        > 0
    )


@pytest.mark.slow
def test_the_three_commands_on_a_plain_folder_and_training_reads_the_result(tmp_path):
    shards, sidecars = make_dataset(tmp_path / "data", n=64, per_shard=16)
    cli(
        "score",
        "-m",
        MODEL,
        "--input",
        shards,
        "--sidecars",
        sidecars,
        "--output",
        tmp_path / "scores",
        "--batch-size",
        "16",
        "--no-progress",
    )
    stats = json.loads(
        cli(
            "filter",
            "--sidecars",
            sidecars,
            "--scores",
            tmp_path / "scores",
            "--output",
            tmp_path / "filtered",
            "--min-margin",
            "0",
            "--no-progress",
        )
    )
    assert 0 < stats["sentences_out"] < stats["sentences_in"]
    cli(
        "report",
        "--sidecars",
        sidecars,
        "--scores",
        tmp_path / "scores",
        "--input",
        shards,
        "--output",
        tmp_path / "report",
        "--no-progress",
    )
    assert (tmp_path / "report" / "samples.html").read_text().count('src="data:image/png') == 24
    cli(
        "train",
        "--train-data",
        shards,
        "--sidecars",
        tmp_path / "filtered",
        "--output",
        tmp_path / "run",
        "--model",
        "hqclip-micro",
        "--batch-size",
        "16",
        "--steps",
        "2",
        "--workers",
        "0",
        "--warmup",
        "1",
        "--log-every",
        "1",
    )
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").exists()


# ---- refusals: one line naming the file, before any work ----


def test_score_refuses_missing_folders(data, tmp_path):
    out = tmp_path / "o"
    refused(
        "score",
        "-m",
        MODEL,
        "--input",
        tmp_path / "nope",
        "--sidecars",
        data["sidecars"],
        "--output",
        out,
        names=tmp_path / "nope",
        says="no such shard or folder",
        nothing_in=out,
    )
    refused(
        "score",
        "-m",
        MODEL,
        "--input",
        data["world"],
        "--sidecars",
        tmp_path / "nope",
        "--output",
        out,
        names=tmp_path / "nope",
        says="no such folder",
        nothing_in=out,
    )


def test_score_refuses_sidecars_of_other_shards(data, tmp_path):
    refused(
        "score",
        "-m",
        MODEL,
        "--input",
        data["world"],
        "--sidecars",
        data["other_sidecars"],
        "--output",
        tmp_path / "o",
        names=data["other_sidecars"] / "shard-000000.parquet",
        says="were made from other shards",
        nothing_in=tmp_path / "o",
    )


def test_score_refuses_a_model_that_does_not_load(data, tmp_path):
    garbage = tmp_path / "ckpt.pt"
    garbage.write_bytes(b"not a checkpoint")
    refused(
        "score",
        "-m",
        f"{MODEL}:{garbage}",
        "--input",
        data["world"],
        "--sidecars",
        data["sidecars"],
        "--output",
        tmp_path / "o",
        names=garbage,
        says="cannot load",
        nothing_in=tmp_path / "o",
    )
    wrong = tmp_path / "rn.pt"
    import open_clip

    torch.save(open_clip.create_model("RN50", pretrained=None).state_dict(), wrong)
    refused(
        "score",
        "-m",
        f"{MODEL}:{wrong}",
        "--input",
        data["world"],
        "--sidecars",
        data["sidecars"],
        "--output",
        tmp_path / "o",
        names=wrong,
        says="cannot load",
    )
    refused(
        "score",
        "-m",
        "no-such-model",
        "--input",
        data["world"],
        "--sidecars",
        data["sidecars"],
        "--output",
        tmp_path / "o",
        names="no-such-model",
        says="unknown open_clip model",
    )


def test_score_refuses_to_overwrite_inputs(data):
    refused(
        "score",
        "-m",
        MODEL,
        "--input",
        data["world"],
        "--sidecars",
        data["sidecars"],
        "--output",
        data["sidecars"],
        names=data["sidecars"],
        says="is also an input folder",
    )
    refused(
        "score",
        "-m",
        MODEL,
        "--input",
        data["world"],
        "--sidecars",
        data["scores"],
        "--output",
        data["scores"],
        names=data["scores"] / "shard-000000.parquet",
        says="is a score sidecar",
    )


def test_filter_refuses_a_sidecar_folder_as_scores(data, tmp_path):
    refused(
        "filter",
        "--sidecars",
        data["sidecars"],
        "--scores",
        data["other_sidecars"],
        "--output",
        tmp_path / "o",
        "--min-margin",
        "0",
        names=data["other_sidecars"] / "shard-000000.parquet",
        says="is a refine sidecar",
        nothing_in=tmp_path / "o",
    )


def test_filter_refuses_a_sidecar_without_scores(data, tmp_path):
    scores = tmp_path / "scores"
    shutil.copytree(data["scores"], scores)
    (scores / "shard-000001.parquet").unlink()
    refused(
        "filter",
        "--sidecars",
        data["sidecars"],
        "--scores",
        scores,
        "--output",
        tmp_path / "o",
        "--min-margin",
        "0",
        names=data["sidecars"] / "shard-000001.parquet",
        says="no scores for it",
        nothing_in=tmp_path / "o",
    )


def test_filter_and_report_refuse_scores_of_another_dataset(data, tmp_path):
    for command, extra in (("filter", ["--min-margin", "0"]), ("report", [])):
        refused(
            command,
            "--sidecars",
            data["sidecars"],
            "--scores",
            data["other_scores"],
            "--output",
            tmp_path / "o",
            *extra,
            names=data["other_scores"] / "shard-000000.parquet",
            says="another dataset",
            nothing_in=tmp_path / "o",
        )
    scores = tmp_path / "scores"
    shutil.copytree(data["scores"], scores)
    shutil.copy(scores / "shard-000000.parquet", scores / "shard-000099.parquet")
    refused(
        "filter",
        "--sidecars",
        data["sidecars"],
        "--scores",
        scores,
        "--output",
        tmp_path / "o",
        "--min-margin",
        "0",
        names=scores / "shard-000099.parquet",
        says="another dataset",
    )


def test_filter_without_a_rule_and_report_without_its_folders(data, tmp_path):
    refused(
        "filter",
        "--sidecars",
        data["sidecars"],
        "--scores",
        data["scores"],
        "--output",
        tmp_path / "o",
        names="--min-margin",
        says="no rule given",
        nothing_in=tmp_path / "o",
    )
    refused(
        "report",
        "--sidecars",
        tmp_path / "nope",
        "--output",
        tmp_path / "o",
        names=tmp_path / "nope",
        says="no such folder",
        nothing_in=tmp_path / "o",
    )
    refused(
        "report",
        "--sidecars",
        data["sidecars"],
        "--input",
        tmp_path / "none",
        "--output",
        tmp_path / "o",
        names=tmp_path / "none",
        says="no such",
        nothing_in=tmp_path / "o",
    )
