"""The HTTP backends against a local server that misbehaves: answers that trickle in, HTML from a proxy, JSON cut
short, a completion without its message. Each is a BackendError with a plain message, bounded in time, so the
pipeline falls back per step; and after a backend timed out, the note's other calls skip it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.llm import BackendError, BackendTimeout, call_with_retries
from core.llm.fake import FakeBackend
from core.llm.ollama_backend import OllamaBackend
from core.llm.openai_backend import OpenAICompatBackend
from core.settings import Settings

pytestmark = pytest.mark.protocol


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode = "html"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.server.mode
        if mode == "drip":  # headers at once, then a byte now and then: no single read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif mode == "html":
            self._send(b"<html><body>Proxy login required</body></html>", "text/html")
        elif mode == "truncated":
            self._send(b'{"id": "x", "choices": [{"message": {"content": "<answer>1', "application/json")
        elif mode == "no-message":
            self._send(b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m1", '
                       b'"choices": [{"index": 0, "finish_reason": "stop", "message": null}]}')


@pytest.fixture
def server() -> Iterator[_Server]:
    instance = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    yield instance
    instance.shutdown()
    instance.server_close()


def _backends(server: _Server, timeout_s: float) -> list:
    address = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings(backend="openai", model="m1", openai_base_url=f"{address}/v1", ollama_host=address,
                        timeout_s=timeout_s)
    return [OpenAICompatBackend(settings), OllamaBackend(settings)]


def test_an_answer_that_trickles_in_times_out_in_all(server: _Server) -> None:
    server.mode = "drip"
    for backend in _backends(server, timeout_s=0.5):
        started = time.perf_counter()
        with pytest.raises(BackendTimeout, match=r"did not answer within 0\.5s"):
            backend.complete("Which candidate?")
        assert time.perf_counter() - started < 2.0, backend.name


@pytest.mark.parametrize("mode", ["html", "truncated", "no-message"])
def test_a_reply_that_is_not_a_chat_answer_is_a_plain_backend_error(server: _Server, mode: str) -> None:
    server.mode = mode
    for backend in _backends(server, timeout_s=5.0):
        if mode == "no-message" and backend.name == "ollama":
            continue  # an OpenAI body
        with pytest.raises(BackendError, match="did not answer with an? (OpenAI|Ollama) chat"):
            backend.complete("Which candidate?")
        outcome = call_with_retries(backend, "Which candidate?", str, retries=1)
        assert not outcome.ok and len(outcome.attempts) == 2  # retried, then the step falls back


def test_after_a_timeout_the_notes_other_calls_skip_the_backend() -> None:
    backend = FakeBackend(["<answer>1</answer>"], fail_times=99, error=BackendTimeout)
    first = call_with_retries(backend, "first step", str, retries=2)
    assert first.fallback_reason.startswith("timeout after 3 attempts") and len(backend.calls) == 3
    second = call_with_retries(backend, "second step", str, retries=2)
    assert second.fallback_reason.startswith("skipped: the backend failed") and len(backend.calls) == 3
    backend.failure = (time.monotonic() - 61, "old")  # a minute later the backend is tried again
    call_with_retries(backend, "later", str, retries=0)
    assert len(backend.calls) == 4
