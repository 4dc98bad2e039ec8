import json

from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.vlm150m_test import NECKLACE


def test_import_then_export_through_the_cli(tmp_path):
    (tmp_path / "rel" / "00007").mkdir(parents=True)
    (tmp_path / "rel" / "00007" / f"{'ab' * 16}.json").write_text(json.dumps(NECKLACE))
    (tmp_path / "rel" / "00007" / "broken.json").write_text("{")
    r = CliRunner().invoke(app, ["import-vlm150m", "--src", str(tmp_path / "rel"),
                                 "--sidecars", str(tmp_path / "sc")])
    assert r.exit_code == 0, r.output
    assert "'ok': 1" in r.output and "'unreadable_files': 1" in r.output
    r = CliRunner().invoke(app, ["export-vlm150m", "--sidecars", str(tmp_path / "sc"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "out" / "00007" / f"{'ab' * 16}.json").read_text()) == NECKLACE
