"""LLM backends (embedded llama.cpp, Ollama, OpenAI-compatible servers) behind one interface.

Runtimes are imported lazily: importing this package never loads llama.cpp or opens a connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.llm.base import BackendError, BackendTimeout, BackendUnavailable, LLMBackend, LLMResponse
from core.llm.calls import (
    Attempt,
    CallOutcome,
    ParseError,
    call_with_retries,
    extract_rationale,
    parse_answer_ids,
)
from core.llm.embedded import DEFAULT_EMBEDDED_MODEL
from core.llm.ollama_backend import DEFAULT_OLLAMA_MODEL
from core.llm.openai_backend import FALLBACK_MODEL

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "DEFAULT_EMBEDDED_MODEL",
    "DEFAULT_OLLAMA_MODEL",
    "FALLBACK_MODEL",
    "Attempt",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "CallOutcome",
    "LLMBackend",
    "LLMResponse",
    "ParseError",
    "call_with_retries",
    "default_model",
    "extract_rationale",
    "get_backend",
    "parse_answer_ids",
]


def default_model(backend: str) -> str:
    """The model used when ``settings.model`` is empty ("" for openai: the server's first listed model)."""
    return {"embedded": DEFAULT_EMBEDDED_MODEL, "ollama": DEFAULT_OLLAMA_MODEL}.get(backend, "")


def get_backend(settings: Settings) -> LLMBackend | None:
    """The backend named by ``settings.backend``; None for "none". Cheap: no model load, no network."""
    kind = settings.backend
    if kind == "none":
        return None
    if kind == "embedded":
        from core.llm.embedded import EmbeddedLlamaCpp

        return EmbeddedLlamaCpp(settings)
    if kind == "ollama":
        from core.llm.ollama_backend import OllamaBackend

        return OllamaBackend(settings)
    if kind == "openai":
        from core.llm.openai_backend import OpenAICompatBackend

        return OpenAICompatBackend(settings)
    raise ValueError(f"unknown LLM backend {kind!r}: expected none, embedded, ollama or openai")
