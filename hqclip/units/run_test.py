"""A worker process that dies (out of memory, kill -9) stops the run as a resumable failure; each
worker knows its number (a GPU job picks its GPU by it)."""

import os
import time

import pytest

from hqclip.errors import Interrupted
from hqclip.units.run import run_units, worker_index


def _die(unit: str) -> dict:
    os._exit(9)


def test_a_dead_worker_is_a_resumable_failure():
    with pytest.raises(Interrupted, match="a worker process died"):
        run_units(["a", "b"], _die, workers=2)


def _index(unit: str) -> dict:
    time.sleep(0.5)  # the other worker takes the other unit
    return {"index": worker_index()}


def test_each_worker_has_its_own_number():
    assert worker_index() == 0
    assert sorted(r["index"] for r in run_units(["a", "b"], _index, workers=2)) == [0, 1]
