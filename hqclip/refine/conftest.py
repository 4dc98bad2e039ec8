"""Fixtures for refine tests: a small synthetic world, and a loopback OpenAI-protocol endpoint
whose failures (429, 503, down) a test scripts."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from hqclip.world.build import build_world
from hqclip.world.config import WorldConfig

VALID = {
    "desc": ["a red circle is on the left"],
    "neg_desc": ["a blue circle is on the left"],
    "tags": ["red circle"],
    "neg_tags": ["blue circle"],
}


def small_world(out: Path, samples: int = 200, shard_size: int = 50, seed: int = 0) -> Path:
    cfg = WorldConfig(
        seed=seed,
        train_samples=samples,
        shard_size=shard_size,
        image_size=32,
        zeroshot_per_class=1,
        retrieval_samples=1,
        sugarcrepe_per_subset=1,
        winoground_samples=1,
    )
    build_world(out, cfg, workers=1, progress=False)
    return out


@pytest.fixture
def make_png():
    def png(color=(200, 30, 30), size=(16, 16)) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, color).save(buf, format="PNG")
        return buf.getvalue()

    return png


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """200 samples in 4 train shards."""
    return small_world(tmp_path_factory.mktemp("world") / "w")


class FakeEndpoint:
    """Speaks /v1/models and /v1/chat/completions. `script` holds HTTP statuses to return before
    answering normally (popped one per request; 0 = answer only after `slow_s` seconds); `down`
    makes every request a 503, and so does every request after the first `fail_after`.
    A request without `response_format` (refine's preflight probe) is answered apart, in
    `probes`; `text_only` rejects any request carrying an image as llama.cpp's server does;
    with `key` set, a request without that bearer key gets a 401."""

    def __init__(self):
        self.script: list[int] = []
        self.probes: list[dict] = []
        self.text_only = False
        self.key: str | None = None
        self.down = False
        self.fail_after: int | None = None
        self.slow_s = 2.0
        self.answer = json.dumps(VALID)
        self.requests: list[dict] = []
        self.auth: list[str] = []
        self.lock = threading.Lock()
        ep = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _refused(self) -> bool:
                if ep.key and self.headers.get("Authorization") != f"Bearer {ep.key}":
                    self._send(401, {"error": {"message": "invalid api key", "code": 401}})
                    return True
                return False

            def do_GET(self):
                if self._refused():
                    return
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": "fake-vlm", "object": "model", "created": 0, "owned_by": "test"}],
                    },
                )

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._refused():
                    return
                content = body["messages"][0]["content"]
                if ep.text_only and any(c.get("type") == "image_url" for c in content):
                    return self._send(
                        500,
                        {
                            "error": {
                                "code": 500,
                                "type": "server_error",
                                "message": "image input is not supported",
                            }
                        },
                    )
                if "response_format" not in body:
                    ep.probes.append(body)
                    return self._send(200, self._answer(body, "red"))
                with ep.lock:
                    ep.requests.append(body)
                    ep.auth.append(self.headers.get("Authorization", ""))
                    if ep.fail_after is not None and len(ep.requests) > ep.fail_after:
                        ep.down = True
                    code = 503 if ep.down else (ep.script.pop(0) if ep.script else 200)
                if code == 0:
                    time.sleep(ep.slow_s)
                elif code != 200:
                    return self._send(code, {"error": {"message": "scripted", "code": code}})
                self._send(200, self._answer(body, ep.answer))

            def _answer(self, body: dict, text: str) -> dict:
                return {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
                }

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    ep = FakeEndpoint()
    yield ep
    ep.close()


@pytest.fixture
def endpoint2():
    ep = FakeEndpoint()
    yield ep
    ep.close()
