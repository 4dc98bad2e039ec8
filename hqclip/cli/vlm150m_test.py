import json

from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.vlm150m.conftest import NECKLACE, shards_for


def test_import_export_and_vocab_through_the_cli(tmp_path):
    uid = "ab" * 16
    (tmp_path / "rel" / "00007").mkdir(parents=True)
    (tmp_path / "rel" / "00007" / f"{uid}.json").write_text(json.dumps(NECKLACE))
    (tmp_path / "rel" / "00007" / f"{'cd' * 16}.json").write_text("{")
    shards_for(tmp_path / "img", [[uid]])
    r = CliRunner().invoke(
        app,
        [
            "import-vlm150m",
            "--annotations",
            str(tmp_path / "rel"),
            "--input",
            str(tmp_path / "img"),
            "--output",
            str(tmp_path / "sc"),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats["ok"] == 1 and stats["skipped"]["bad_json"] == 1 and stats["rows_written"] == 1
    r = CliRunner().invoke(
        app, ["export-vlm150m", "--sidecars", str(tmp_path / "sc"), "--output", str(tmp_path / "out")]
    )
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "out" / "000000" / f"{uid}.json").read_text()) == NECKLACE
    (tmp_path / "sc" / "vocab.json").unlink()
    r = CliRunner().invoke(app, ["vocab", "--sidecars", str(tmp_path / "sc"), "--size", "2"])
    assert r.exit_code == 0, r.output
    vocab = json.loads((tmp_path / "sc" / "vocab.json").read_text())
    assert vocab["tags"] == ["18k gold necklace", "heart pendant"] and vocab["distinct"] == 3


def test_import_mistakes_are_one_line(tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "import-vlm150m",
            "--annotations",
            str(tmp_path / "nope"),
            "--input",
            str(tmp_path),
            "--output",
            str(tmp_path / "sc"),
        ],
    )
    assert r.exit_code == 2 and r.stderr.strip().count("\n") == 0
    assert "--annotations" in r.stderr and "no such folder" in r.stderr
    r = CliRunner().invoke(app, ["vocab", "--sidecars", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such folder" in r.stderr


def test_export_without_sidecars_is_one_line(tmp_path):
    for sidecars in (tmp_path / "nope", tmp_path):
        r = CliRunner().invoke(
            app, ["export-vlm150m", "--sidecars", str(sidecars), "--out", str(tmp_path / "out")]
        )
        line = r.stderr.strip()
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
        assert line.startswith(f"hqclip export-vlm150m: --sidecars {sidecars}: no sidecar"), line
        assert "\n" not in line
    assert not (tmp_path / "out").exists()
