"""Entry point: importing each command file registers its commands on the app."""

from hqclip.cli import (  # noqa: F401
    curate,  # noqa: F401  (score, filter, report)
    distill,  # noqa: F401  (distill, compare)
    models,  # noqa: F401  (wise-ft, export)
    quickstart,
    refine,
    train,
    vlm150m,
    world,
)
from hqclip.cli import eval as eval_cmd  # noqa: F401
from hqclip.cli.app import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
