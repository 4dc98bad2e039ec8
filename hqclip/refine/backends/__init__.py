"""Model backends behind one interface (`base.Backend`): a batch of requests in, raw text out.

Modules are imported by name only when chosen, so `hqclip refine --backend oracle` never imports
torch, and the optional vllm extra is needed only for `--backend vllm`.
"""

from __future__ import annotations

import importlib

from hqclip.refine.backends.base import Backend, BackendUnavailable, Request, Response

BACKENDS = {
    "oracle": "hqclip.refine.backends.oracle:OracleBackend",
    "transformers": "hqclip.refine.backends.transformers_hf:TransformersBackend",
    "openai": "hqclip.refine.backends.openai_http:OpenAIBackend",
    "vllm": "hqclip.refine.backends.vllm_engine:VLLMBackend",
}


def backend_class(name: str) -> type[Backend]:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["BACKENDS", "Backend", "BackendUnavailable", "Request", "Response", "backend_class"]
