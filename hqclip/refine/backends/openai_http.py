"""Any OpenAI-compatible chat endpoint: `vllm serve`, SGLang, LMDeploy, llama.cpp server, Ollama,
hosted APIs. This is the GPU scale path: one server per GPU, many async clients.

Images go as base64 data URLs of the original bytes; the answer is constrained by
`response_format` = the record's JSON schema. Requests run concurrently (`concurrency`), each on
the least-busy `endpoint`; 429, 5xx, timeouts and refused connections are retried with jittered
exponential backoff (on the next endpoint), and when every try fails the backend raises
`BackendUnavailable`, which stops the run with finished shards kept. Other HTTP errors (e.g. a
400 for one oversized sample) fail only that sample. The API key is read from the environment
variable named by `api_key_env` and never logged.

Options: `OpenAIOptions` (endpoints, api_key_env, concurrency, timeout, retries, backoff).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

from hqclip.refine.backends.base import Backend, BackendUnavailable, Request, Response, chat_messages
from hqclip.refine.config import OpenAIOptions

log = logging.getLogger("hqclip.refine")


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, cfg):
        super().__init__(cfg)
        import openai

        self._openai = openai
        o = OpenAIOptions.of(cfg.options)
        self.endpoints: list[str] = list(o.endpoints)
        if not self.endpoints:
            raise ValueError("--backend openai needs at least one --endpoint, e.g. http://127.0.0.1:8000/v1")
        self.concurrency = int(o.concurrency)
        self.timeout = float(o.timeout)
        self.retries = int(o.retries)
        self.backoff = float(o.backoff)
        self._key = os.environ.get(o.api_key_env) or "EMPTY"
        self._loop = asyncio.new_event_loop()
        self._clients: list[Any] = []
        self._busy = [0] * len(self.endpoints)
        self._turn = 0
        self._model = cfg.model
        self._loop.run_until_complete(self._setup())

    @property
    def model_name(self) -> str:
        return f"openai:{self._model or self.cfg.model}"

    def _pick(self) -> int:
        """Least in-flight endpoint; ties go round-robin."""
        self._turn += 1
        n = len(self.endpoints)
        return min(range(n), key=lambda i: (self._busy[i], (i - self._turn) % n))

    def _body(self, req: Request) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "model": self._model,
            "messages": chat_messages(req, with_image=not cfg.no_image),
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "seed": req.seed,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "hqclip_record", "schema": cfg.schema(), "strict": True},
            },
        }

    async def _setup(self) -> None:
        self._clients = [
            self._openai.AsyncOpenAI(base_url=e, api_key=self._key, max_retries=0, timeout=self.timeout)
            for e in self.endpoints
        ]
        self._sem = asyncio.Semaphore(self.concurrency)
        if self._model is None:  # servers of one model: ask the first that answers
            for i, client in enumerate(self._clients):
                try:
                    self._model = (await client.models.list()).data[0].id
                    break
                except Exception as e:  # noqa: BLE001 - tried on the next endpoint
                    log.warning("%s: could not list models (%s)", self.endpoints[i], type(e).__name__)
            else:
                raise BackendUnavailable(
                    f"no endpoint answered /models ({', '.join(self.endpoints)});"
                    " is the server up? or pass --model"
                )

    async def _one(self, req: Request) -> Response:
        o = self._openai
        body = self._body(req)
        last = ""
        async with self._sem:
            for attempt in range(self.retries + 1):
                i = self._pick()
                self._busy[i] += 1
                start = time.perf_counter()
                try:
                    resp = await self._clients[i].chat.completions.create(**body)
                except o.APIStatusError as e:
                    if e.status_code != 429 and e.status_code < 500:
                        return Response(None, error=f"http_{e.status_code}")
                    last = f"{self.endpoints[i]}: HTTP {e.status_code}"
                except (o.APITimeoutError, o.APIConnectionError) as e:
                    last = f"{self.endpoints[i]}: {type(e).__name__}"
                else:
                    choice, usage = resp.choices[0], resp.usage
                    return Response(
                        choice.message.content,
                        choice.finish_reason,
                        usage.prompt_tokens if usage else None,
                        usage.completion_tokens if usage else None,
                        time.perf_counter() - start,
                    )
                finally:
                    self._busy[i] -= 1
                if attempt < self.retries:
                    log.debug("%s: retry %d after %s", req.key, attempt + 1, last)
                    await asyncio.sleep(min(self.backoff * 2**attempt, 60.0) * (0.5 + random.random() / 2))
        raise BackendUnavailable(
            f"no answer after {self.retries + 1} tries (last: {last}); is the server up? check --endpoint"
        )

    async def _gather(self, requests: list[Request]) -> list[Response]:
        out = await asyncio.gather(*(self._one(r) for r in requests), return_exceptions=True)
        for r in out:
            if isinstance(r, BaseException):
                raise r
        return out  # type: ignore[return-value]

    def generate(self, requests: list[Request]) -> list[Response]:
        return self._loop.run_until_complete(self._gather(requests))

    def close(self) -> None:
        if self._clients:
            for c in self._clients:
                self._loop.run_until_complete(c.close())
        self._loop.close()
