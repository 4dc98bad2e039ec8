"""Evaluation: zero-shot classification, retrieval, SugarCrepe / ARO-order / Winoground-style
compositional tests, side by side for several models, with a JSON + Markdown + PNG report.

The names below load on first use, so importing a light module of this package (the report's
table, the splits) does not import torch."""

import importlib
from typing import Any

_API = {"evaluate": "evaluation", "write_report": "eval_report", "markdown": "eval_report"}

__all__ = list(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
