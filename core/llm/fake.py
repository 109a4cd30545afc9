"""A scripted backend for tests: canned answers, optional failures first, every call recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.llm.base import BackendError, BackendUnavailable, LLMBackend, LLMResponse


@dataclass
class FakeCall:
    prompt: str
    system: str | None
    json_schema: dict | None
    max_tokens: int | None
    stop: list[str] | None


class FakeBackend(LLMBackend):
    """Answers from ``responses`` in order (the last one repeats), or from ``responses(prompt)``.

    The first ``fail_times`` calls raise ``error`` instead (they are recorded too).
    """

    name = "fake"
    supports_concurrency = True

    def __init__(
        self,
        responses: list[str] | Callable[[str], str],
        fail_times: int = 0,
        error: type[BackendError] = BackendUnavailable,
        *,
        model: str = "fake-model",
    ) -> None:
        if isinstance(responses, list) and not responses:
            raise ValueError("FakeBackend needs at least one response")
        self.responses = responses
        self.fail_times = fail_times
        self.error = error
        self.model = model
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()
        self._answered = 0

    @property
    def prompts(self) -> list[str]:
        return [c.prompt for c in self.calls]

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> LLMResponse:
        with self._lock:
            self.calls.append(FakeCall(prompt, system, json_schema, max_tokens, stop))
            if len(self.calls) <= self.fail_times:
                raise self.error(f"fake {self.error.__name__} (call {len(self.calls)} of {self.fail_times} failing)")
            if callable(self.responses):
                text = self.responses(prompt)
            else:
                text = self.responses[min(self._answered, len(self.responses) - 1)]
            self._answered += 1
        return LLMResponse(
            text=text,
            model=self.model,
            backend=self.name,
            duration_ms=0.0,
            prompt_tokens=len(prompt.split()),
            completion_tokens=len(text.split()),
        )

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "params": {}}

    def check(self) -> tuple[bool, str]:
        return True, "fake backend"
