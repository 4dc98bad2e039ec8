"""The miniature of all 40 tasks (miniature.py), written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from hqclip.eval.datacomp import miniature


@pytest.fixture(scope="session")
def mini(tmp_path_factory) -> Path:
    return miniature.build(tmp_path_factory.mktemp("datacomp"))
