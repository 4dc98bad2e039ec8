"""The typer app every command file registers on. Heavy imports stay inside commands so that
`hqclip --help` is instant."""

import functools
import logging
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from hqclip.errors import Interrupted, UserError
from hqclip.units.run import RAY_DEFAULTS


class App(typer.Typer):
    """`@app.command()` as typer spells it, with the one place that reports the two expected
    failures (`hqclip.errors`): `hqclip CMD: message` on stderr, exit 2 for a `UserError` and exit 1
    with the resume hint for an `Interrupted`. Anything else keeps its traceback."""

    def command(self, name: str | None = None, **kwargs: Any) -> Callable:
        def decorator(f: Callable) -> Callable:
            command = name or f.__name__.lower().replace("_", "-")  # typer's default name
            # the list in `hqclip --help` shows the docstring's first paragraph as one line: its
            # line breaks, kept in rich markup, would cut the narrower column mid-sentence
            first = (f.__doc__ or "").strip().split("\n\n")[0]
            register = super(App, self).command(name, **{"short_help": " ".join(first.split()), **kwargs})

            @functools.wraps(f)
            def reported(**params: Any) -> Any:
                try:
                    return f(**params)
                except UserError as e:
                    _fail(command, str(e), 2)
                except Interrupted as e:
                    where = params.get("output") or params.get("out")
                    _fail(
                        command,
                        f"{e} — finished units are kept in {where}; rerun the same command to resume",
                        1,
                    )

            register(reported)
            return f

        return decorator


def _fail(command: str, message: str, code: int) -> NoReturn:
    typer.echo(f"hqclip {command}: {message}", err=True)
    raise typer.Exit(code)


app = App(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="HQ-CLIP: refine image-text data with an LVLM, train CLIP on it, evaluate.",
)

# the options of the per-unit runner (hqclip.units), one definition for every command on it
RUNNER = typer.Option("local", help="local | ray")
RAY_ADDRESS = typer.Option(RAY_DEFAULTS["address"], help="Ray cluster address (default: start a local one)")
RAY_CPUS = typer.Option(float(RAY_DEFAULTS["num_cpus"]), help="CPUs per Ray task")
RAY_GPUS = typer.Option(
    float(RAY_DEFAULTS["num_gpus"]), help="GPUs per Ray task (with a GPU backend or --device cuda)"
)
RAY_RETRIES = typer.Option(RAY_DEFAULTS["max_retries"], help="Ray retries of a shard whose worker died")
PROGRESS = typer.Option(True, help="progress bar")


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
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("hqclip").setLevel(logging.DEBUG if verbose else logging.INFO)
