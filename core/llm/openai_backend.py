"""OpenAI-compatible chat servers (vLLM, llama.cpp server, LM Studio, ...) through the ``openai`` client."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

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

# Used when the server lists no model: most single-model servers (llama.cpp, LM Studio) accept any name.
FALLBACK_MODEL = "default"


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise BackendUnavailable("the openai client is not installed: `pip install openai`", retryable=False) from exc
    return openai


def _unreachable(base_url: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"OpenAI-compatible server at {base_url} is not reachable: start it (for example "
        "`python -m llama_cpp.server --model FILE.gguf` or `vllm serve MODEL`), fix the base URL in the settings, "
        "or choose another backend"
    )


def _client(base_url: str, api_key: str, timeout: float) -> Any:
    openai = _import_openai()
    # max_retries=0: retries are the pipeline's decision (core.llm.calls), not hidden inside the client.
    return openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)


def _timed_out(base_url: str, timeout: float, what: str) -> BackendTimeout:
    """A read that timed out, or an answer not finished within ``timeout`` in all."""
    return BackendTimeout(f"server at {base_url} did not answer within {timeout:g}s ({what})")


def _map_error(exc: Exception, base_url: str, timeout: float, what: str) -> Exception:
    openai = _import_openai()
    if isinstance(exc, openai.APITimeoutError):  # subclass of APIConnectionError: test it first
        return _timed_out(base_url, timeout, what)
    if isinstance(exc, openai.APIConnectionError):
        return _unreachable(base_url)
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return BackendUnavailable(
            f"server at {base_url} rejected the API key ({exc}): set openai_api_key", retryable=False
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status >= 500 or status in (408, 409, 429)
        hint = " (the base URL usually ends in /v1)" if status == 404 and not base_url.rstrip("/").endswith("/v1") else ""
        return BackendError(f"server at {base_url} returned HTTP {status} ({what}): {exc.message}{hint}",
                            retryable=retryable)
    return exc


def list_models(base_url: str, api_key: str = "not-needed", timeout: float = 5.0) -> list[str]:
    """Model ids served at ``base_url`` (``GET /models``)."""
    client = _client(base_url, api_key, timeout)
    try:
        return [m.id for m in client.models.list()]
    except Exception as exc:
        raise _map_error(exc, base_url, timeout, "listing models") from exc
    finally:
        client.close()


class OpenAICompatBackend(LLMBackend):
    """Chat completions against any OpenAI-compatible server.

    With no model in the settings the first model the server lists is used (``"default"`` if it lists none),
    resolved on the first call so that building the backend never touches the network.
    ``fold_system`` merges the system text into the user turn, for servers whose chat template drops the
    system role (llama.cpp server with ``--chat_format gemma``).
    JSON schemas go as ``response_format={"type": "json_object", "schema": ...}`` (llama.cpp server's form;
    servers that ignore ``schema`` still return JSON).
    """

    name = "openai"
    supports_concurrency = True

    def __init__(self, settings: Settings, *, model: str | None = None, fold_system: bool = False) -> None:
        requested = model if model is not None else settings.model
        self._auto_model = not requested
        self.model = requested or FALLBACK_MODEL
        self.base_url = settings.openai_base_url
        self.temperature = settings.temperature
        self.max_tokens = settings.max_tokens
        self.timeout_s = settings.timeout_s
        self.fold_system = fold_system
        self._api_key = settings.openai_api_key
        self._client = _client(self.base_url, self._api_key, self.timeout_s)
        self._resolve_lock = threading.Lock()

    def _resolve_model(self) -> None:
        with self._resolve_lock:
            if not self._auto_model:
                return
            models = list_models(self.base_url, self._api_key, min(5.0, self.timeout_s))
            self.model = models[0] if models else FALLBACK_MODEL
            self._auto_model = False

    def list_models(self) -> list[str]:
        return list_models(self.base_url, self._api_key, min(5.0, self.timeout_s))

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> LLMResponse:
        self._resolve_model()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(prompt, system, fold_system=self.fold_system),
            "temperature": self.temperature,
            "max_tokens": max_tokens or self.max_tokens,
        }
        if stop:
            kwargs["stop"] = stop
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        start = time.perf_counter()
        openai = _import_openai()
        try:
            response = run_with_deadline(
                lambda: self._client.chat.completions.create(**kwargs), self.timeout_s,
                lambda: _timed_out(self.base_url, self.timeout_s, f"model {self.model!r}"),
            )
        except BackendError:
            raise
        except ValueError as exc:  # a body that is not JSON (an HTML page from a proxy, a reply cut short)
            raise self._not_a_completion(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if isinstance(exc, openai.NotFoundError):
                raise self._missing_model(exc) from exc
            raise _map_error(exc, self.base_url, self.timeout_s, f"model {self.model!r}") from exc
        duration_ms = (time.perf_counter() - start) * 1000
        if not isinstance(response, openai.types.chat.ChatCompletion):
            raise self._not_a_completion(f"got {type(response).__name__}")
        if not response.choices:
            raise BackendError(f"server at {self.base_url} returned no choices (model {self.model!r})")
        message = response.choices[0].message
        if message is None:
            raise self._not_a_completion("its choice has no message")
        usage = response.usage
        return LLMResponse(
            text=message.content or "",
            model=response.model or self.model,
            backend=self.name,
            duration_ms=duration_ms,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )

    def _not_a_completion(self, detail: str) -> BackendError:
        return BackendError(f"server at {self.base_url} did not answer with an OpenAI chat completion ({detail}): "
                            "check the base URL (it usually ends in /v1) and any proxy in between")

    def _missing_model(self, exc: Exception) -> BackendUnavailable:
        try:
            available = ", ".join(self.list_models()) or "none"
        except BackendError:
            available = "unknown (could not list models)"
        return BackendUnavailable(
            f"model {self.model!r} is not served at {self.base_url} ({exc}); available: {available}. "
            "Pick an available model or leave the model empty to use the server's first one",
            retryable=False,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "fold_system": self.fold_system,
            "params": {"temperature": self.temperature, "max_tokens": self.max_tokens, "timeout_s": self.timeout_s},
        }

    def check(self) -> tuple[bool, str]:
        try:
            models = self.list_models()
        except BackendError as exc:
            return False, str(exc)
        if not self._auto_model and models and self.model not in models:
            # Single-model servers (llama.cpp, LM Studio) answer under any name; vLLM would answer 404.
            return True, (
                f"server at {self.base_url} is up but does not list model {self.model!r} "
                f"(available: {', '.join(models)}); single-model servers may still answer"
            )
        shown = ", ".join(models[:5]) or "no models listed"
        return True, f"server at {self.base_url} is up ({shown})"

    def close(self) -> None:
        self._client.close()
