"""The typer app every command file registers on. Heavy imports stay inside commands so that
`hqclip --help` is instant."""

import logging
from typing import Any, NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="HQ-CLIP: refine image-text data with an LVLM, train CLIP on it, evaluate.")

# the options of the per-unit runner (hqclip.refine.runners), one definition for every command on it
RUNNER = typer.Option("local", help="local | ray")
RAY_ADDRESS = typer.Option(None, help="Ray cluster address (default: start a local one)")
RAY_CPUS = typer.Option(1.0, help="CPUs per Ray task")
RAY_GPUS = typer.Option(0.0, help="GPUs per Ray task (with a GPU backend or --device cuda)")
RAY_RETRIES = typer.Option(3, help="Ray retries of a shard whose worker died")
PROGRESS = typer.Option(True, help="progress bar")


def refuse(command: str, message: object) -> NoReturn:
    """A user mistake found before any work: one line naming the command, exit code 2."""
    typer.echo(f"hqclip {command}: {message}", err=True)
    raise typer.Exit(2)


def renamed(old_to_new: dict[str, str]) -> dict[str, Any]:
    """A command's context settings under which old option names keep working as hidden aliases:
    click passes each option name through `token_normalize_func` before looking it up, so with
    {"out": "output"} `--out X` reads as `--output X`, and help shows only `--output`."""
    return {"token_normalize_func": lambda name: old_to_new.get(name, name)}


def ray_opts(address: str | None, cpus: float, gpus: float, retries: int) -> dict:
    return {"address": address, "num_cpus": cpus, "num_gpus": gpus, "max_retries": retries}


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    # our loggers at INFO; libraries (open_clip logs each model it builds at INFO) only when -v
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("hqclip").setLevel(logging.DEBUG if verbose else logging.INFO)
