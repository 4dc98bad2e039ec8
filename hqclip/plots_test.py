"""Figures go to files without touching a backend the caller chose, and reports that only plot do
not import torch."""

import os
import subprocess
import sys


def python(code: str, **env: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_agg_only_when_no_backend_was_chosen():
    show = "from hqclip.plots import pyplot; import matplotlib; pyplot(); print(matplotlib.get_backend())"
    assert python(show, MPLBACKEND="").lower() == "agg"
    assert python(show, MPLBACKEND="svg").lower() == "svg"  # the caller's (a notebook's) stays


def test_reports_that_only_plot_do_not_import_torch():
    code = (
        "import sys, hqclip.plots, hqclip.eval.eval_report, hqclip.curate.quality_report; "
        "print('torch' in sys.modules)"
    )
    assert python(code) == "False"
