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
    assert CliRunner().invoke(app, ["quickstart", "--full"]).exit_code == 0
    for plan, seeds in zip([p for p, _ in ran], [(0, 1), (0, 1, 2)]):
        assert plan.seeds == seeds and plan.error_study and plan.controls and plan.cycle and plan.wise_ft


@pytest.mark.parametrize("part", ["controls", "error_study", "wise_ft", "cycle"])
def test_each_part_of_full_runs_alone_with_any_seeds(ran, part):
    r = CliRunner().invoke(app, ["quickstart", "--seeds", "3", f"--{part.replace('_', '-')}"])
    assert r.exit_code == 0, r.output
    plan = ran[0][0]
    assert plan.seeds == (0, 1, 2)
    assert {p: getattr(plan, p) for p in ("controls", "error_study", "wise_ft", "cycle")} == {
        p: p == part for p in ("controls", "error_study", "wise_ft", "cycle")
    }


def test_budget_converged_runs_the_converged_plan_with_three_seeds(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "hqclip.quickstart.converged.converged", lambda plan, out: calls.append(plan) or "converged table"
    )
    r = CliRunner().invoke(app, ["quickstart", "--budget", "converged", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert calls[0].seeds == (0, 1, 2) and calls[0].device == "cpu" and r.output == "converged table\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--budget", "long"], "--budget long: expected fixed or converged"),
        (["--device", "tpu"], "--device tpu: expected cuda or cpu"),
        (["--budget", "converged", "--seeds", "1"], "the plateau rule needs two seeds or more"),
        (["--seeds", "0"], "--seeds 0: expected 1 or more"),
    ],
)
def test_bad_budget_device_or_seeds_are_refused_before_any_work(ran, args, message):
    r = CliRunner().invoke(app, ["quickstart", *args])
    assert r.exit_code == 2 and message in r.output and not ran


def test_cuda_without_a_gpu_is_refused(ran, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    r = CliRunner().invoke(app, ["quickstart", "--device", "cuda"])
    assert r.exit_code == 2 and "--device cuda: no usable GPU here" in r.output and not ran
