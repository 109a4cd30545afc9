"""Backend-neutral types for LLM calls: the response record, the error hierarchy and the backend interface."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class LLMResponse:
    text: str
    model: str
    backend: str
    duration_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BackendError(RuntimeError):
    """A backend could not produce an answer.

    ``retryable`` is False for errors that repeat identically on a retry (model not on the server, runtime not
    installed, prompt longer than the context window, a request the server rejects as malformed), so callers
    stop early instead of burning attempts. Connection failures and timeouts stay retryable.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class BackendUnavailable(BackendError):
    """Server down, connection refused, model missing, runtime not installed. The message says how to fix it."""


class BackendTimeout(BackendError):
    """The backend did not answer within the configured timeout."""


class LLMBackend(ABC):
    """One chat model behind one runtime. ``complete`` sends ``prompt`` as a single user message."""

    name: str = "abstract"
    model: str = ""
    # Whether several threads may call ``complete`` at once with a real speed-up (servers: yes; in-process: no).
    supports_concurrency: bool = True
    # (monotonic time, reason) of the last call that ended because the backend was down or too slow (core.llm.calls)
    failure: tuple[float, str] | None = None

    @abstractmethod
    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> LLMResponse:
        """Answer one prompt. Raises BackendUnavailable / BackendTimeout / BackendError."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Backend, model, host/URL and generation params, JSON-safe (stored in audit logs). No secrets."""

    @abstractmethod
    def check(self) -> tuple[bool, str]:
        """Cheap availability check: (ok, human-readable message)."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for backends without clients
        """Release network clients; the backend must not be used afterwards."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


def build_messages(prompt: str, system: str | None, *, fold_system: bool = False) -> list[dict[str, str]]:
    """Chat messages for one turn.

    ``fold_system`` puts the system text at the top of the user turn, for chat templates with no system
    role (Gemma's: llama.cpp's "gemma" format silently drops system messages).
    """
    if system and fold_system:
        return [{"role": "user", "content": f"{system.strip()}\n\n{prompt}"}]
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    return messages


def run_with_deadline(call: Callable[[], T], seconds: float, on_timeout: Callable[[], BackendError]) -> T:
    """``call()``, or ``on_timeout()`` raised once ``seconds`` have passed in all.

    HTTP clients time out per read, so a server that sends a byte now and then never times out; the call runs in a
    daemon thread that is abandoned at the deadline (its own read timeout ends it later).
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="llm-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise on_timeout()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
