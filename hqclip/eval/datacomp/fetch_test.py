"""`hqclip download-datacomp` against a real HTTP server that serves repository files the way the
Hugging Face hub does (repo info with the file list; HEAD/GET of resolve/<commit>/<file> with the
commit, ETag and size headers), and offline: what is already complete is not fetched, a missing
folder is fetched and then passes the suite's check, a rerun fetches nothing, and an unreachable
hub is one line, exit 2."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.eval.datacomp.tasks import BY_KEY

SHA = "0123456789abcdef0123456789abcdef01234567"


def etag(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class Hub(BaseHTTPRequestHandler):
    repos: dict[str, Path] = {}  # repo id -> folder served
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def _file(self) -> tuple[Path, bytes] | None:
        for repo, folder in self.repos.items():
            prefix = f"/datasets/{repo}/resolve/"
            if self.path.startswith(prefix):
                rel = self.path[len(prefix) :].split("/", 1)[1]
                path = folder / rel
                return (path, path.read_bytes()) if path.is_file() else None
        return None

    def _send_file(self, body: bool) -> None:
        self.requests.append(f"{self.command} {self.path}")
        found = self._file()
        if found is None:
            self.send_error(404)
            return
        _, data = found
        self.send_response(200)
        self.send_header("X-Repo-Commit", SHA)
        self.send_header("ETag", f'"{etag(data)}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self._send_file(body=False)

    def do_GET(self) -> None:
        for repo, folder in self.repos.items():
            if self.path.split("?")[0].startswith(f"/api/datasets/{repo}"):
                self.requests.append(f"GET {self.path}")
                files = sorted(p for p in folder.rglob("*") if p.is_file())
                if "/tree/" in self.path:  # the recursive file list
                    listing = [
                        {
                            "type": "file",
                            "path": str(p.relative_to(folder)),
                            "size": p.stat().st_size,
                            "oid": etag(p.read_bytes()),
                        }
                        for p in files
                    ]
                else:  # repo info
                    listing = {
                        "id": repo,
                        "sha": SHA,
                        "siblings": [{"rfilename": str(p.relative_to(folder))} for p in files],
                    }
                body = json.dumps(listing).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self._send_file(body=True)


@pytest.fixture
def hub(mini):
    Hub.repos = {BY_KEY[k].repo: mini / BY_KEY[k].folder for k in ("cifar10", "misc/winogavil")}
    Hub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def download(*args) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["download-datacomp", *map(str, args)])
    return r.exit_code, r.output


def test_fetches_missing_folders_then_nothing(hub, tmp_path, mini):
    code, out = download("--data-dir", tmp_path, "--tasks", "cifar10,misc/winogavil", "--endpoint", hub)
    assert code == 0, out
    assert "2 task folder(s) fetched" in out
    for key in ("cifar10", "misc/winogavil"):
        folder = BY_KEY[key].folder
        for src in (mini / folder).rglob("*"):
            if src.is_file():
                assert (tmp_path / folder / src.relative_to(mini / folder)).read_bytes() == src.read_bytes()
    Hub.requests.clear()
    code, out = download("--data-dir", tmp_path, "--tasks", "cifar10,misc/winogavil", "--endpoint", hub)
    assert code == 0 and "0 task folder(s) fetched" in out and Hub.requests == []


def test_interrupted_fetch_resumes(hub, tmp_path, mini):
    """A folder left incomplete (a shard missing) is completed; the files there are not fetched again."""
    code, _ = download("--data-dir", tmp_path, "--tasks", "cifar10", "--endpoint", hub)
    assert code == 0
    (tmp_path / "wds_cifar10_test" / "test" / "1.tar").unlink()
    Hub.requests.clear()
    code, out = download("--data-dir", tmp_path, "--tasks", "cifar10", "--endpoint", hub)
    assert code == 0 and "1 task folder(s) fetched" in out
    gets = [r for r in Hub.requests if r.startswith("GET /datasets/")]
    assert gets == [f"GET /datasets/djghosh/wds_cifar10_test/resolve/{SHA}/test/1.tar"]


def test_unreachable_hub_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out = download("--data-dir", tmp_path, "--tasks", "imagenet1k", "--endpoint", "http://127.0.0.1:9")
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert "djghosh/wds_imagenet1k_test: cannot fetch" in out and "rerun to resume" in out
