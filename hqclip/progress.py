"""Progress for long commands: a live bar in a terminal; in a log file (a batch job's output), a
plain line every ~30 s instead of a redraw per step. Every long loop in hqclip uses `bar`."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

LOG_EVERY_S = 30.0
LINE = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class _LogLines(tqdm):
    """tqdm that writes its status as a new line at most every LOG_EVERY_S (and when it closes)."""

    _last = float("-inf")

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        now = time.monotonic()
        if now - self._last >= LOG_EVERY_S or self.disable or (self.total and self.n >= self.total):
            self._last = now
            self.fp.write((msg or self.__str__()) + "\n")
            self.fp.flush()
        return True


def bar(iterable: Any = None, **kw: Any) -> tqdm:
    """`tqdm(iterable, **kw)` on a terminal; `_LogLines` when stderr is not one."""
    if kw.get("disable") or getattr(sys.stderr, "isatty", lambda: False)():
        return tqdm(iterable, dynamic_ncols=True, **kw)
    return _LogLines(iterable, mininterval=LOG_EVERY_S, maxinterval=LOG_EVERY_S, bar_format=LINE, **kw)
