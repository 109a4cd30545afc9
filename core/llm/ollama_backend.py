"""Ollama backend through the official ``ollama`` client (``/api/chat``, non-streaming)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx

from core.llm.base import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    LLMBackend,
    LLMResponse,
    build_messages,
    run_with_deadline,
)

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_OLLAMA_MODEL = "llama3.1:8b"


def _unreachable(host: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"Ollama server at {host} is not reachable: start it with `ollama serve` "
        "(or fix the host in the settings) or choose another backend"
    )


def _import_ollama() -> Any:
    try:
        import ollama
    except ImportError as exc:
        raise BackendUnavailable("the ollama client is not installed: `pip install ollama`", retryable=False) from exc
    return ollama


def list_models(host: str, timeout: float = 5.0) -> list[str]:
    """Model names the Ollama server at ``host`` has pulled (for the UI's model picker)."""
    ollama = _import_ollama()
    client = ollama.Client(host=host, timeout=timeout)
    try:
        response = client.list()
    except (ConnectionError, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise _unreachable(host) from exc
    except httpx.TimeoutException as exc:
        raise BackendTimeout(f"Ollama server at {host} did not list its models within {timeout:g}s") from exc
    except ollama.ResponseError as exc:
        raise BackendUnavailable(f"Ollama server at {host} refused to list models: {exc}") from exc
    finally:
        client.close()
    return [m.model for m in response.models if m.model]


def model_available(model: str, available: list[str]) -> bool:
    """Ollama treats ``name`` and ``name:latest`` as the same model."""
    names = set(available)
    return model in names or (":" not in model and f"{model}:latest" in names)


class OllamaBackend(LLMBackend):
    name = "ollama"
    supports_concurrency = True

    def __init__(self, settings: Settings, *, model: str | None = None) -> None:
        ollama = _import_ollama()
        self._ollama = ollama
        requested = model if model is not None else settings.model
        self.model = requested or DEFAULT_OLLAMA_MODEL
        self.host = settings.ollama_host
        self.temperature = settings.temperature
        self.num_ctx = settings.num_ctx
        self.max_tokens = settings.max_tokens
        self.timeout_s = settings.timeout_s
        self._client = ollama.Client(host=self.host, timeout=self.timeout_s)

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> LLMResponse:
        options: dict[str, Any] = {
            "temperature": self.temperature,
            "num_ctx": self.num_ctx,
            "num_predict": max_tokens or self.max_tokens,
        }
        if stop:
            options["stop"] = stop
        start = time.perf_counter()
        try:
            response = run_with_deadline(
                lambda: self._client.chat(model=self.model, messages=build_messages(prompt, system), options=options,
                                          format=json_schema or None, stream=False),
                self.timeout_s,
                self._timed_out,
            )
        except BackendError:
            raise
        except Exception as exc:  # mapped to BackendError subclasses; anything else re-raises unchanged
            raise self._map_error(exc) from exc
        duration_ms = (time.perf_counter() - start) * 1000
        return LLMResponse(
            text=response.message.content or "",
            model=response.model or self.model,
            backend=self.name,
            duration_ms=duration_ms,
            prompt_tokens=response.prompt_eval_count,
            completion_tokens=response.eval_count,
        )

    def _map_error(self, exc: Exception) -> Exception:
        if isinstance(exc, (ConnectionError, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)):
            return _unreachable(self.host)
        if isinstance(exc, httpx.TimeoutException):
            return self._timed_out()
        if isinstance(exc, ValueError):  # a body that is not Ollama's JSON (HTML from a proxy, a reply cut short)
            return BackendError(f"Ollama at {self.host} did not answer with an Ollama chat reply "
                                f"({type(exc).__name__}: {str(exc)[:200]}): check the host and any proxy in between")
        if isinstance(exc, self._ollama.ResponseError):
            if exc.status_code == 404:
                return self._missing_model(str(exc.error))
            retryable = exc.status_code >= 500 or exc.status_code in (408, 429)
            return BackendError(f"Ollama at {self.host} returned an error: {exc}", retryable=retryable)
        return exc

    def _timed_out(self) -> BackendTimeout:
        """A read that timed out, or an answer not finished within timeout_s in all."""
        return BackendTimeout(
            f"Ollama at {self.host} did not answer within {self.timeout_s:g}s (model {self.model!r}); "
            "raise timeout_s, lower max_tokens or use a smaller model"
        )

    def _missing_model(self, detail: str) -> BackendUnavailable:
        try:
            available = ", ".join(list_models(self.host, timeout=min(5.0, self.timeout_s))) or "none"
        except BackendError:
            available = "unknown (could not list models)"
        return BackendUnavailable(
            f"model {self.model!r} is not on the Ollama server at {self.host} ({detail}); available: {available}. "
            f"Pull it with `ollama pull {self.model}` or pick an available model",
            retryable=False,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "host": self.host,
            "params": {
                "temperature": self.temperature,
                "num_ctx": self.num_ctx,
                "max_tokens": self.max_tokens,
                "timeout_s": self.timeout_s,
            },
        }

    def check(self) -> tuple[bool, str]:
        try:
            available = list_models(self.host, timeout=min(5.0, self.timeout_s))
        except BackendError as exc:
            return False, str(exc)
        if not model_available(self.model, available):
            listed = ", ".join(available) or "none"
            return False, (
                f"model {self.model!r} is not on the Ollama server at {self.host}; available: {listed}. "
                f"Pull it with `ollama pull {self.model}`"
            )
        return True, f"Ollama at {self.host} is up and has {self.model!r}"

    def close(self) -> None:
        self._client.close()
