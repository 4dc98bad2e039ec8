from pathlib import Path

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app


@pytest.fixture
def ran(monkeypatch):
    """The plan and folder `hqclip quickstart` would run (the run itself takes minutes)."""
    calls = []
    monkeypatch.setattr("hqclip.quickstart.run.run", lambda plan, out: calls.append((plan, out)) or "table")
    return calls


@pytest.mark.parametrize(
    "args, folder", [([], "runs/quickstart"), (["--output", "o"], "o"), (["--out", "o"], "o")]
)
def test_output_and_its_old_spelling_name_the_folder(ran, args, folder):
    r = CliRunner().invoke(app, ["quickstart", *args])
    assert r.exit_code == 0, r.output
    assert ran[0][1] == Path(folder) and ran[0][0].seeds == (0,) and r.output == "table\n"


def test_the_old_spelling_is_not_shown():
    assert "--out " not in CliRunner().invoke(app, ["quickstart", "--help"]).output


def test_full_runs_every_seed_with_the_studies(ran):
    assert CliRunner().invoke(app, ["quickstart", "--full", "--seeds", "2"]).exit_code == 0
    plan = ran[0][0]
    assert plan.seeds == (0, 1) and plan.error_study and plan.controls and plan.cycle
