"""OllamaBackend against a local stand-in server speaking Ollama's HTTP API (no Ollama binary is available)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.llm import BackendTimeout, BackendUnavailable, call_with_retries, get_backend, parse_answer_ids
from core.llm.ollama_backend import DEFAULT_OLLAMA_MODEL, OllamaBackend, list_models
from core.settings import Settings

pytestmark = pytest.mark.protocol

MODELS = ["llama3.1:8b", "qwen2.5:7b-instruct"]
SLOW_MODEL = "slow:latest"


class _StandIn(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, dict[str, Any]]]


class _Handler(BaseHTTPRequestHandler):
    server: _StandIn

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append((self.path, {}))
        if self.path != "/api/tags":
            self._reply(404, {"error": "not found"})
            return
        self._reply(
            200,
            {
                "models": [
                    {
                        "name": name,
                        "model": name,
                        "modified_at": "2025-01-15T10:00:00.000000+00:00",
                        "size": 4920753328,
                        "digest": "a" * 64,
                        "details": {
                            "parent_model": "",
                            "format": "gguf",
                            "family": "llama",
                            "families": ["llama"],
                            "parameter_size": "8.0B",
                            "quantization_level": "Q4_K_M",
                        },
                    }
                    for name in [*MODELS, SLOW_MODEL]
                ]
            },
        )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append((self.path, body))
        if self.path != "/api/chat":
            self._reply(404, {"error": "not found"})
            return
        model = body.get("model", "")
        if model == SLOW_MODEL:
            time.sleep(1.5)
        elif model not in MODELS:
            self._reply(404, {"error": f"model '{model}' not found"})
            return
        user = body["messages"][-1]["content"]
        content = '{"ids": [2]}' if body.get("format") else f"You said {len(user)} characters. <answer>2</answer>"
        self._reply(
            200,
            {
                "model": model,
                "created_at": "2025-01-15T10:00:01.123456789Z",
                "message": {"role": "assistant", "content": content},
                "done_reason": "stop",
                "done": True,
                "total_duration": 123456789,
                "load_duration": 1234567,
                "prompt_eval_count": 26,
                "prompt_eval_duration": 2345678,
                "eval_count": 7,
                "eval_duration": 3456789,
            },
        )


@pytest.fixture(scope="module")
def stand_in() -> Iterator[_StandIn]:
    server = _StandIn(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _host(server: _StandIn) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _settings(server: _StandIn, **extra: object) -> Settings:
    base = Settings(
        backend="ollama", ollama_host=_host(server), temperature=0.0, num_ctx=8192, max_tokens=256, timeout_s=10.0
    )
    return base.with_overrides(**extra)


def test_chat_request_and_reply(stand_in: _StandIn) -> None:
    backend = get_backend(_settings(stand_in))
    assert isinstance(backend, OllamaBackend) and backend.model == DEFAULT_OLLAMA_MODEL
    stand_in.requests.clear()
    response = backend.complete("Which candidate?", system="You are a coder.", max_tokens=64, stop=["</answer>"])
    path, body = stand_in.requests[-1]
    assert path == "/api/chat"
    assert body["model"] == "llama3.1:8b" and body["stream"] is False
    assert body["messages"] == [
        {"role": "system", "content": "You are a coder."},
        {"role": "user", "content": "Which candidate?"},
    ]
    assert body["options"] == {"temperature": 0.0, "num_ctx": 8192, "num_predict": 64, "stop": ["</answer>"]}
    assert "format" not in body or body["format"] in (None, "")
    assert response.text == "You said 16 characters. <answer>2</answer>"
    assert (response.model, response.backend) == ("llama3.1:8b", "ollama")
    assert (response.prompt_tokens, response.completion_tokens) == (26, 7)
    assert parse_answer_ids(response.text, {1, 2, 3}) == [2]


def test_json_schema_sent_as_format(stand_in: _StandIn) -> None:
    backend = OllamaBackend(_settings(stand_in, model="qwen2.5:7b-instruct"))
    schema = {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}
    response = backend.complete("ids?", json_schema=schema)
    _, body = stand_in.requests[-1]
    assert body["format"] == schema and body["options"]["num_predict"] == 256  # settings.max_tokens by default
    assert json.loads(response.text) == {"ids": [2]}


def test_list_models_and_check(stand_in: _StandIn) -> None:
    assert list_models(_host(stand_in)) == [*MODELS, SLOW_MODEL]
    assert OllamaBackend(_settings(stand_in)).check()[0]
    assert OllamaBackend(_settings(stand_in, model="slow")).check()[0]  # "slow" means "slow:latest"
    ok, message = OllamaBackend(_settings(stand_in, model="mistral")).check()
    assert not ok and "'mistral'" in message and "llama3.1:8b" in message and "ollama pull mistral" in message
    info = OllamaBackend(_settings(stand_in)).describe()
    assert info == {
        "backend": "ollama",
        "model": "llama3.1:8b",
        "host": _host(stand_in),
        "params": {"temperature": 0.0, "num_ctx": 8192, "max_tokens": 256, "timeout_s": 10.0},
    }


def test_missing_model_is_unavailable_and_lists_models(stand_in: _StandIn) -> None:
    backend = OllamaBackend(_settings(stand_in, model="x"))
    with pytest.raises(BackendUnavailable) as caught:
        backend.complete("hi")
    message = str(caught.value)
    assert "model 'x' is not on the Ollama server" in message
    assert "available: llama3.1:8b, qwen2.5:7b-instruct" in message and "ollama pull x" in message
    # a missing model is not retried: the fallback happens after one attempt
    outcome = call_with_retries(backend, "hi", str, retries=2)
    assert len(outcome.attempts) == 1 and outcome.fallback_reason
    assert outcome.fallback_reason.startswith("backend unavailable: model 'x' is not on the Ollama server")


def test_timeout(stand_in: _StandIn) -> None:
    backend = OllamaBackend(_settings(stand_in, model=SLOW_MODEL, timeout_s=0.3))
    with pytest.raises(BackendTimeout, match=r"did not answer within 0\.3s"):
        backend.complete("hi")


def test_server_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound but not listening: connection refused
        backend = OllamaBackend(Settings(backend="ollama", ollama_host=host, timeout_s=5.0))
        with pytest.raises(BackendUnavailable) as caught:
            backend.complete("hi")
        assert str(caught.value).startswith(f"Ollama server at {host} is not reachable: start it with `ollama serve`")
        with pytest.raises(BackendUnavailable, match="not reachable"):
            list_models(host)
        ok, message = backend.check()
        assert not ok and "ollama serve" in message
        outcome = call_with_retries(backend, "hi", str, retries=2)
        assert len(outcome.attempts) == 3 and outcome.fallback_reason
        assert outcome.fallback_reason.startswith(f"backend unavailable: Ollama server at {host} is not reachable")
