"""`hqclip train` on user mistakes: one line saying what to do, exit code 2, no traceback, no work."""

import json

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.train.conftest import make_dataset


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "data")


def train(*args):
    return CliRunner().invoke(
        app, ["train", "--model", "hqclip-micro", "--batch-size", "8", "--workers", "0", *map(str, args)]
    )


def refused(r, *needles):
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit) and "Traceback" not in r.output
    line = r.stderr.strip()
    assert line.startswith("hqclip train: ") and "\n" not in line, r.stderr
    for needle in needles:
        assert needle in line, line
    return line


def test_missing_train_data(tmp_path):
    refused(train("--input", tmp_path / "nope", "--output", tmp_path / "o"), "no such shard or folder")


def test_folder_without_shards(tmp_path):
    refused(train("--input", tmp_path, "--output", tmp_path / "o"), "no .tar shards, caption tables")


def test_brace_pattern_naming_missing_shards(dataset, tmp_path):
    train_dir, sidecars = dataset
    r = train(
        "--input",
        f"{train_dir}/shard-{{000000..000009}}.tar",
        "--sidecars",
        sidecars,
        "--output",
        tmp_path / "o",
    )
    refused(r, "shard-000004.tar does not exist", "6 of 10")


def test_missing_sidecar_folder(dataset, tmp_path):
    train_dir, _ = dataset
    refused(
        train("--input", train_dir, "--sidecars", tmp_path / "nope", "--output", tmp_path / "o"),
        "--sidecars",
        "no such folder",
    )


@pytest.mark.parametrize("sidecars", [None, "empty"])
def test_hni_stc_without_any_sidecar_says_to_refine_or_train_plain_clip(dataset, tmp_path, sidecars):
    train_dir, _ = dataset
    extra = []
    if sidecars:
        (tmp_path / "empty").mkdir()
        extra = ["--sidecars", tmp_path / "empty"]
    line = refused(
        train("--input", train_dir, "--output", tmp_path / "o", *extra),
        "no annotation sidecar for any of the 4 shards",
        "hqclip refine",
        "--hni-weight 0 --stc-weight 0 --text-mix alt=1",
    )
    assert not (tmp_path / "o").exists(), line


def test_linear_head_without_vocab_says_to_run_hqclip_vocab(dataset, tmp_path):
    train_dir, sidecars = dataset
    (sidecars / "vocab.json").unlink()
    refused(
        train("--input", train_dir, "--sidecars", sidecars, "--output", tmp_path / "o"),
        f"hqclip vocab --sidecars {sidecars}",
    )


def test_vocab_smaller_than_asked(dataset, tmp_path):
    train_dir, sidecars = dataset
    vocab = json.loads((sidecars / "vocab.json").read_text())
    (sidecars / "vocab.json").write_text(json.dumps({**vocab, "size": 2, "tags": vocab["tags"][:2]}))
    refused(train("--input", train_dir, "--sidecars", sidecars, "--output", tmp_path / "o"), "--size 1000")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--resampled"], "--resampled needs --train-num-samples"),
        (["--text-mix", "alt=1,caption=2"], "--text-mix"),
        (["--neg-swap", "0"], "--neg-swap"),
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["--stc-head", "mlp"], "--stc-head 'mlp'"),
        (["--precision", "fp8"], "--precision 'fp8'"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--workers", "-1"], "--workers -1"),
        (["--batch-size", "1000"], "samples per epoch < one global batch"),
        (["--resume", "missing.pt"], "--resume missing.pt: no such checkpoint"),
    ],
)
def test_bad_options(dataset, tmp_path, args, needle):
    train_dir, sidecars = dataset
    refused(train("--input", train_dir, "--sidecars", sidecars, "--output", tmp_path / "o", *args), needle)


@pytest.mark.slow
def test_some_shards_without_sidecar_train_with_a_warning_and_resume_needs_the_same_workers(
    dataset, tmp_path, caplog
):
    train_dir, sidecars = dataset
    (sidecars / "shard-000001.parquet").unlink()
    out = tmp_path / "o"
    r = train(
        "--input",
        train_dir,
        "--sidecars",
        sidecars,
        "--output",
        out,
        "--steps",
        "4",
        "--stop-after",
        "2",
        "--stc-head",
        "text",
        "--log-every",
        "1",
    )
    assert r.exit_code == 0, r.output
    assert "1 of 4 shards have no sidecar" in caplog.text and "shard-000001.tar" in caplog.text
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["counts"]["shard_without_sidecar"] == 1
    refused(
        train(
            "--input",
            train_dir,
            "--sidecars",
            sidecars,
            "--output",
            out,
            "--steps",
            "4",
            "--stc-head",
            "text",
            "--resume",
            "latest",
            "--workers",
            "2",
        ),
        "written with 1 loader workers",
        "resume with the same",
    )


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a usable GPU")
def test_device_cuda_without_a_usable_gpu(dataset, tmp_path):
    train_dir, sidecars = dataset
    r = train("--input", train_dir, "--sidecars", sidecars, "--output", tmp_path / "o", "--device", "cuda")
    refused(r, "--device cuda: torch", "sees no usable GPU", "--device cpu")
    assert not (tmp_path / "o").exists()
