"""A worker process that dies (out of memory, kill -9) stops the run as a resumable failure."""

import os

import pytest

from hqclip.errors import Interrupted
from hqclip.units.run import run_units


def _die(unit: str) -> dict:
    os._exit(9)


def test_a_dead_worker_is_a_resumable_failure():
    with pytest.raises(Interrupted, match="a worker process died"):
        run_units(["a", "b"], _die, workers=2)
