import json

from typer.testing import CliRunner

from hqclip.cli.main import app


def test_world_command_writes_a_world_and_prints_the_rate(tmp_path):
    args = [
        "world",
        "--output",
        str(tmp_path),
        "--train-samples",
        "50",
        "--shard-size",
        "20",
        "--eval-scale",
        "0.05",
        "--workers",
        "1",
        "--empty-rate",
        "1.0",
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "samples/s" in res.output
    manifest = json.loads((tmp_path / "world.json").read_text())
    assert len(manifest["train"]["shards"]) == 3
    assert manifest["config"]["alt_text"]["empty_rate"] == 1.0
    args[1] = "--out"  # the old name, a hidden alias
    again = CliRunner().invoke(app, args)
    assert "already there" in again.output


def test_a_world_replayed_from_its_world_json_has_its_config_but_what_is_given(tmp_path):
    small = ["--train-samples", "40", "--shard-size", "20", "--eval-scale", "0.02", "--workers", "1"]
    res = CliRunner().invoke(
        app, ["world", "--output", str(tmp_path / "a"), *small, "--seed", "3", "--empty-rate", "0.5"]
    )
    assert res.exit_code == 0, res.output
    first = json.loads((tmp_path / "a" / "world.json").read_text())["config"]
    res = CliRunner().invoke(
        app,
        [
            "world",
            "--config",
            str(tmp_path / "a" / "world.json"),
            "--output",
            str(tmp_path / "b"),
            "--workers",
            "1",
            "--mention-rate",
            "0.9",
        ],
    )
    assert res.exit_code == 0, res.output
    replay = json.loads((tmp_path / "b" / "world.json").read_text())["config"]
    assert replay == {**first, "alt_text": {**first["alt_text"], "mention_rate": 0.9}}
