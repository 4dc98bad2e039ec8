"""The typer app every command file registers on. Heavy imports stay inside commands so that
`hqclip --help` is instant."""

import logging

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="HQ-CLIP: refine image-text data with an LVLM, train CLIP on it, evaluate.")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
