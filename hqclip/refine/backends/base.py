"""The one backend interface: a batch of (image, alt-text, prompt) requests in, raw text out.

Backends never parse or validate; `hqclip.refine.parse` does that for all of them. A backend
that cannot serve at all (every endpoint down after its retries) raises `BackendUnavailable`,
which stops the run; any other per-request failure comes back as `Response.error` and is retried
by the pipeline like an invalid answer.
"""

from __future__ import annotations

import abc
import base64
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from hqclip.errors import Interrupted
from hqclip.refine.config import RefineConfig


class BackendUnavailable(Interrupted):
    """The model cannot be reached; finished shards are kept and a rerun resumes."""


@dataclass
class Request:
    uid: str
    key: str
    alt_text: str
    prompt: str
    image: Image.Image | None
    image_bytes: bytes | None
    ext: str
    meta: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    attempt: int = 1


@dataclass
class Response:
    text: str | None
    finish_reason: str | None = None  # "stop" | "length" | None when unknown
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float = 0.0
    error: str | None = None  # e.g. "http_400"; the answer then counts as invalid


_MIME = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp"}


def data_url(req: Request) -> str:
    """The sample's original image bytes as a base64 data URL (no re-encoding)."""
    b64 = base64.b64encode(req.image_bytes or b"").decode("ascii")
    return f"data:image/{_MIME.get(req.ext, 'png')};base64,{b64}"


def chat_messages(req: Request, with_image: bool) -> list[dict[str, Any]]:
    """OpenAI-style chat messages (used by the openai and vllm backends)."""
    content: list[dict[str, Any]] = []
    if with_image:
        content.append({"type": "image_url", "image_url": {"url": data_url(req)}})
    content.append({"type": "text", "text": req.prompt})
    return [{"role": "user", "content": content}]


class Backend(abc.ABC):
    """Built from a RefineConfig inside whichever process runs the shard."""

    name = "base"
    # options that change what the model writes (fingerprinted); others only change speed
    output_options: tuple[str, ...] = ()

    def __init__(self, cfg: RefineConfig):
        self.cfg = cfg

    @classmethod
    def identity(cls, cfg: RefineConfig) -> dict[str, Any]:
        """What decides this backend's output, for the run fingerprint; no model is loaded."""
        return {
            "backend": cls.name,
            "model": cfg.model,
            **{k: cfg.options.get(k) for k in cls.output_options},
        }

    @property
    def model_name(self) -> str:
        """The provenance `model` column."""
        return f"{self.name}:{self.cfg.model}"

    @abc.abstractmethod
    def generate(self, requests: list[Request]) -> list[Response]:
        """One Response per request, in order."""

    def close(self) -> None:  # noqa: B027 (most backends hold nothing to close)
        pass
