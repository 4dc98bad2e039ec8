"""Figures for the reports (eval, curate, quickstart): pyplot without a display, PNGs written
atomically. Imports nothing heavier than matplotlib, so a report does not pull in torch."""

from __future__ import annotations

import sys
from pathlib import Path

from hqclip.data.atomic import atomic_open


def pyplot():
    """matplotlib's pyplot, on the file-only Agg backend (training hosts have no display) unless
    the caller chose a backend already (a notebook's inline one, MPLBACKEND, pyplot imported)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and matplotlib.rcParams._get_backend_or_none() is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> None:
    """Write a figure atomically and free it."""
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    pyplot().close(fig)
