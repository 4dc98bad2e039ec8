"""The one place that reports failures: a user mistake is one line and exit 2, a resumable failure
one line with the resume hint and exit 1, and anything else (a bug) keeps its traceback."""

import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from hqclip.cli.app import App

COMMANDS = """
from pathlib import Path

import typer

from hqclip.cli.app import App
from hqclip.errors import ConfigMismatch, Interrupted, UserError

app = App(pretty_exceptions_enable=False)


@app.command()
def mistake(output: Path = typer.Option(...)) -> None:
    raise UserError(f"--output {output}: no such folder")


@app.command("other-config")
def other_config(output: Path = typer.Option(...)) -> None:
    raise ConfigMismatch(f"{output} was made under a different configuration; rerun with --overwrite")


@app.command()
def gone(output: Path = typer.Option(...)) -> None:
    raise Interrupted("no endpoint answered")


@app.command()
def bug(output: Path = typer.Option(...)) -> None:
    {}["missing"]


if __name__ == "__main__":
    app()
"""


def invoke(tmp_path: Path, *args: str):
    namespace: dict = {}
    exec(COMMANDS, namespace)
    return CliRunner().invoke(namespace["app"], [*args, "--output", str(tmp_path / "o")])


def test_a_user_mistake_is_one_line_and_exit_2(tmp_path):
    for command in ("mistake", "other-config"):
        r = invoke(tmp_path, command)
        line = r.stderr.strip()
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
        assert line.startswith(f"hqclip {command}: ") and "\n" not in line, r.stderr
        assert str(tmp_path / "o") in line and "rerun the same command" not in line


def test_a_resumable_failure_says_where_the_finished_units_are_and_exit_1(tmp_path):
    r = invoke(tmp_path, "gone")
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert r.stderr.strip() == (
        f"hqclip gone: no endpoint answered — finished units are kept in "
        f"{tmp_path / 'o'}; rerun the same command to resume"
    )


def test_a_bug_keeps_its_traceback(tmp_path):
    r = invoke(tmp_path, "bug")
    assert r.exit_code == 1 and isinstance(r.exception, KeyError)
    script = tmp_path / "commands.py"
    script.write_text(COMMANDS)
    run = subprocess.run(
        [sys.executable, str(script), "bug", "--output", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1 and "Traceback" in run.stderr and "KeyError: 'missing'" in run.stderr


def test_commands_register_with_their_signature_and_stay_callable():
    app = App()

    @app.command()
    def hello(name: str = typer.Option("x", help="who")) -> str:
        return f"hi {name}"

    assert hello("y") == "hi y"  # the decorator returns the function itself
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0 and "--name" in r.output
