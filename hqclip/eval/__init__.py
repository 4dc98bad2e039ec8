"""Evaluation: zero-shot classification, retrieval, SugarCrepe / ARO-order / Winoground-style
compositional tests, side by side for several models, with a JSON + Markdown + PNG report."""

from hqclip.eval.evaluate import evaluate
from hqclip.eval.models import Loaded, ModelSpec, load
from hqclip.eval.report import markdown, write_report

__all__ = ["evaluate", "write_report", "markdown", "load", "Loaded", "ModelSpec"]
