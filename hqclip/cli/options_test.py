"""The options generated from the configs: parity with the dataclasses, `--config` replay, and the
old option names as hidden aliases."""

import dataclasses
import json
import re

import pytest
import typer.main
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.cli.world import NOT_OPTIONS
from hqclip.refine.config import RefineConfig
from hqclip.train.config import TrainConfig
from hqclip.train.conftest import make_dataset
from hqclip.train.texts import parse_text_mix
from hqclip.units.stage import manifest_name
from hqclip.world.build import build_world
from hqclip.world.config import AltTextNoise, WorldConfig


def params(command: str) -> dict:
    return {p.name: p for p in typer.main.get_command(app).commands[command].params}


def field_defaults(cls) -> dict:
    """Each field's default; None for a required one (`--config` may supply it)."""

    def default(f):
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return None if f.default is dataclasses.MISSING else f.default

    return {f.name: default(f) for f in dataclasses.fields(cls)}


def test_train_options_are_the_train_config_fields_with_their_defaults():
    got = params("train")
    want = field_defaults(TrainConfig)
    assert set(got) - {"config"} == set(want)
    assert parse_text_mix(got["text_mix"].default) == want.pop("text_mix")
    for name, default in want.items():
        assert got[name].default == default, name
    assert got["train_data"].opts == ["--input"]


def test_refine_options_are_the_refine_config_fields_with_their_defaults():
    got = params("refine")
    want = field_defaults(RefineConfig)
    del want["options"]  # built from the backend options
    for name, default in want.items():
        assert got[name].default == default, name
    # in the fingerprint: what a CLI user got before the default moved into the config
    assert got["max_pixels"].default == 89_478_485


def test_world_options_are_the_world_config_fields_with_their_defaults():
    got = params("world")
    want = {**field_defaults(WorldConfig), **field_defaults(AltTextNoise)}
    for name in NOT_OPTIONS:
        del want[name]
    for name, default in want.items():
        assert got[name].default == default, name


def train(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)])


@pytest.fixture(scope="module")
def run_config(tmp_path_factory):
    """A two-step run's config.json, with options off their defaults."""
    tmp_path = tmp_path_factory.mktemp("run")
    train_dir, sidecars = make_dataset(tmp_path / "data")
    r = train(
        "--input",
        train_dir,
        "--sidecars",
        sidecars,
        "--output",
        tmp_path / "a",
        "--model",
        "hqclip-micro",
        "--batch-size",
        "8",
        "--workers",
        "0",
        "--steps",
        "2",
        "--text-mix",
        "alt=1,desc=2",
        "--beta2",
        "0.99",
        "--neg-swap",
        "all",
        "--no-progress",
    )
    assert r.exit_code == 0, r.output
    return tmp_path / "a" / "config.json"


def test_a_run_replayed_from_its_config_json_is_the_same_run(run_config, tmp_path):
    r = train("--config", run_config, "--output", tmp_path / "b")
    assert r.exit_code == 0, r.output
    first, replay = (json.loads(p.read_text()) for p in (run_config, tmp_path / "b" / "config.json"))
    assert TrainConfig(**replay) == TrainConfig(**{**first, "output": str(tmp_path / "b")})
    assert replay["text_mix"] == pytest.approx({"alt": 1 / 3, "desc": 2 / 3})


def test_options_given_with_config_override_it(run_config, tmp_path):
    r = train("--config", run_config, "--output", tmp_path / "c", "--text-mix", "alt=1", "--lr", "0.01")
    assert r.exit_code == 0, r.output
    replay = json.loads((tmp_path / "c" / "config.json").read_text())
    first = json.loads(run_config.read_text())
    assert replay == {
        **first,
        "output": str(tmp_path / "c"),
        "text_mix": {"alt": 1.0, "desc": 0.0},
        "lr": 0.01,
    }


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--output", "o"], "give --input (or --config"),
        (["--config", "nope.json"], "--config nope.json: "),
    ],
)
def test_config_mistakes_are_one_line(tmp_path, args, needle):
    r = train(*args)
    assert r.exit_code == 2 and needle in r.stderr and r.stderr.strip().count("\n") == 0, r.output


def test_config_of_something_else_is_refused(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"train_data": "w", "output": "o", "colour": 1}))
    r = train("--config", tmp_path / "x.json")
    assert r.exit_code == 2 and "not a TrainConfig" in r.stderr, r.output


@pytest.mark.parametrize(
    "command, old, name, rest",
    [
        ("train", "--train-data", "train_data", []),
        ("world", "--out", "output", []),
        ("eval", "--out", "out", ["-m", "hqclip-micro"]),
        ("eval", "--data", "data", ["-m", "hqclip-micro"]),
        ("export-vlm150m", "--out", "out", ["--sidecars", "s"]),
        ("import-vlm150m", "--shards", "shards", ["--annotations", "a", "--output", "o"]),
    ],
)
def test_old_option_names_still_work_and_are_hidden(command, old, name, rest):
    cmd = typer.main.get_command(app).commands[command]
    for args in ([old, "x"], [f"{old}=x"]):
        assert str(cmd.make_context(command, [*rest, *args]).params[name]) == "x"
    help = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    assert not re.search(re.escape(old) + r"(?![\w-])", help), help


def refine(*args):
    return CliRunner().invoke(app, ["refine", "--no-progress", *map(str, args)])


def test_a_refine_run_replayed_from_its_manifest_has_its_config_but_what_is_given(tmp_path):
    world = tmp_path / "w"
    build_world(world, WorldConfig(train_samples=20, shard_size=10).with_eval_scale(0.01), workers=1)
    r = refine(
        "--input", world, "--output", tmp_path / "a", "--omission", 0.2, "--seed", 3, "--batch-size", 4
    )
    assert r.exit_code == 0, r.output
    first = json.loads((tmp_path / "a" / manifest_name("refine")).read_text())["config"]
    r = refine(
        "--config",
        tmp_path / "a" / manifest_name("refine"),
        "--input",
        world,
        "--output",
        tmp_path / "b",
        "--hallucination",
        0.1,
    )
    assert r.exit_code == 0, r.output
    replay = json.loads((tmp_path / "b" / manifest_name("refine")).read_text())["config"]
    assert replay == {**first, "options": {**first["options"], "hallucination": 0.1}}
    assert first["seed"] == 3 and first["options"]["omission"] == 0.2
