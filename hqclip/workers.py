"""How hqclip starts worker processes: from a clean process, never by a plain fork.

A forked child copies its parent's memory but not its threads, so a lock that tqdm's monitor,
torch's OpenMP pool or DuckDB held at that moment stays held and the child hangs at its first use
(Python 3.12 and later warn about it). forkserver forks each worker from a server started fresh;
spawn, where there is no forkserver, starts each one anew.
"""

import multiprocessing
from multiprocessing.context import BaseContext

START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def context() -> BaseContext:
    """The multiprocessing context every pool of hqclip's uses."""
    return multiprocessing.get_context(START)
