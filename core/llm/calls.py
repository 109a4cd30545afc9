"""Bounded retries around one LLM call, and parsers for the ``<answer>...</answer>`` convention.

Every pipeline step calls :func:`call_with_retries`; it never raises for backend or parse failures but returns a
:class:`CallOutcome` whose ``fallback_reason`` tells the step why it must fall back to its non-LLM path.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from core.llm.base import BackendError, BackendTimeout, BackendUnavailable, LLMBackend

T = TypeVar("T")

RATIONALE_MAX_CHARS = 1000
_ANSWER_BLOCK = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_BARE_IDS = re.compile(r"[\d,;\s]+")
_NONE_WORDS = {"none", "null", "nil", "ninguno", "ninguna"}


class ParseError(ValueError):
    """The model's answer cannot be used (no answer, not IDs, IDs outside the offered candidates)."""


@dataclass
class Attempt:
    raw: str | None
    error: str | None
    duration_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class CallOutcome(Generic[T]):
    value: T | None
    attempts: list[Attempt] = field(default_factory=list)
    fallback_reason: str | None = None  # None when value was parsed OK

    @property
    def ok(self) -> bool:
        return self.fallback_reason is None

    @property
    def raw_answer(self) -> str | None:
        """The last raw model text (None when no attempt reached the model)."""
        for attempt in reversed(self.attempts):
            if attempt.raw is not None:
                return attempt.raw
        return None

    @property
    def duration_ms(self) -> float:
        return sum(a.duration_ms for a in self.attempts)


def repair_prompt(prompt: str, error: str) -> str:
    """The prompt for a retry after an unusable answer.

    At temperature 0 the same prompt gives the same answer, so a retry must say what was wrong.
    """
    return (
        f"{prompt}\n\nYour previous answer could not be used: {error}. "
        "Answer again and follow the required answer format exactly."
    )


def call_with_retries(
    backend: LLMBackend,
    prompt: str,
    parse: Callable[[str], T],
    *,
    retries: int,
    system: str | None = None,
    json_schema: dict | None = None,
    max_tokens: int | None = None,
    stop: list[str] | None = None,
    backoff_s: float = 0.0,
    repair: bool = True,
) -> CallOutcome[T]:
    """Call ``backend`` and ``parse`` its text, with at most ``retries`` extra attempts.

    Retried: BackendError marked retryable (connection, timeout, 5xx) and ParseError / json.JSONDecodeError
    from ``parse``. With ``repair`` a retry after a parse failure appends the error to the prompt.
    ``backoff_s`` sleeps ``backoff_s * attempt_number`` before retrying after a backend error; a non-retryable
    one (model missing, prompt too long) ends the loop at once.
    Other exceptions (bugs) propagate.
    """
    attempts: list[Attempt] = []
    skipped = _recent_failure(backend)
    if skipped:  # the server timed out or was down a moment ago: the other steps of the note do not wait on it
        return CallOutcome(value=None, attempts=[], fallback_reason=skipped)
    total = 1 + max(0, retries)
    current_prompt = prompt
    last_error: Exception | None = None
    for number in range(1, total + 1):
        start = time.perf_counter()
        try:
            response = backend.complete(
                current_prompt, system=system, json_schema=json_schema, max_tokens=max_tokens, stop=stop
            )
        except BackendError as exc:
            attempts.append(Attempt(raw=None, error=_describe(exc), duration_ms=_ms_since(start)))
            last_error = exc
            if not exc.retryable:
                break
            if backoff_s > 0 and number < total:
                time.sleep(backoff_s * number)
            continue
        try:
            value = parse(response.text)
        except (ParseError, json.JSONDecodeError) as exc:
            attempts.append(
                Attempt(
                    raw=response.text,
                    error=_describe(exc),
                    duration_ms=response.duration_ms,
                    prompt_tokens=response.prompt_tokens,
                    completion_tokens=response.completion_tokens,
                )
            )
            last_error = exc
            if repair:
                current_prompt = repair_prompt(prompt, str(exc))
            continue
        attempts.append(
            Attempt(
                raw=response.text,
                error=None,
                duration_ms=response.duration_ms,
                prompt_tokens=response.prompt_tokens,
                completion_tokens=response.completion_tokens,
            )
        )
        return CallOutcome(value=value, attempts=attempts, fallback_reason=None)
    reason = _fallback_reason(last_error, len(attempts))
    if isinstance(last_error, (BackendUnavailable, BackendTimeout)):
        backend.failure = (time.monotonic(), reason)
    return CallOutcome(value=None, attempts=attempts, fallback_reason=reason)


# After a call ends because the backend is down or too slow, later calls skip it for this long: a note's other
# steps (up to a dozen calls, each retried) would otherwise wait out the same timeout again and again.
SKIP_AFTER_FAILURE_S = 60.0


def _recent_failure(backend: LLMBackend) -> str | None:
    failure = getattr(backend, "failure", None)
    if failure is None:
        return None
    when, reason = failure
    waited = time.monotonic() - when
    if waited >= SKIP_AFTER_FAILURE_S:
        return None
    return f"skipped: the backend failed {waited:.0f}s ago ({reason}); it is tried again after {SKIP_AFTER_FAILURE_S:g}s"


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _fallback_reason(error: Exception | None, count: int) -> str:
    times = f"{count} attempt{'s' if count != 1 else ''}"
    if isinstance(error, BackendUnavailable):
        return f"backend unavailable: {error}"
    if isinstance(error, BackendTimeout):
        return f"timeout after {times}: {error}"
    if isinstance(error, BackendError):
        return f"backend error after {times}: {error}"
    if isinstance(error, (ParseError, json.JSONDecodeError)):
        return f"unparseable answer after {times}: {error}"
    return f"no answer after {times}"


def _answer_content(text: str) -> str:
    """Content of the last ``<answer>`` block; an unclosed last tag (cut by a stop sequence) runs to the end."""
    opens = list(_ANSWER_OPEN.finditer(text))
    if opens:
        tail = text[opens[-1].end() :]
        close = tail.lower().find("</answer>")
        return tail if close < 0 else tail[:close]
    stripped = text.strip()
    if stripped and _BARE_IDS.fullmatch(stripped):
        return stripped
    snippet = stripped[:120] + ("…" if len(stripped) > 120 else "")
    raise ParseError(f"no <answer>...</answer> block in the reply: {snippet!r}")


def parse_answer_ids(text: str, valid_ids: set[int]) -> list[int]:
    """Candidate IDs from the last ``<answer>`` block, in order, without duplicates.

    The answer must be integers separated by commas, semicolons, spaces or newlines (optionally in brackets).
    ID 0 means "none of the candidates": ``[]`` is returned when 0 is valid and is the only ID.
    Raises ParseError for no answer, non-integer tokens, or IDs not in ``valid_ids``.
    """
    content = _answer_content(text).strip().strip("[](){}").strip()
    tokens = [t.strip(".'\"#") for t in re.split(r"[,;\s]+", content) if t.strip(".'\"#")]
    if not tokens:
        raise ParseError("empty answer: expected candidate IDs")
    ids: list[int] = []
    for token in tokens:
        if token.lower() in _NONE_WORDS:
            number = 0
        elif token.isdigit():
            number = int(token)
        else:
            raise ParseError(f"answer is not a list of IDs: {content.strip()[:120]!r}")
        if number not in ids:
            ids.append(number)
    invalid = [i for i in ids if i not in valid_ids]
    if invalid:
        shown = sorted(valid_ids)
        valid_text = ", ".join(map(str, shown[:30])) + (", …" if len(shown) > 30 else "")
        raise ParseError(f"invalid IDs {invalid}: valid IDs are {valid_text}")
    chosen = [i for i in ids if i != 0]
    return chosen


def extract_rationale(text: str) -> str:
    """The model's reasoning: the text outside the answer block(s), stripped, at most 1,000 characters."""
    without = _ANSWER_BLOCK.sub(" ", text)
    opened = _ANSWER_OPEN.search(without)
    if opened:  # an unclosed answer tag runs to the end of the text
        without = without[: opened.start()]
    rationale = re.sub(r"[ \t]+", " ", without).strip()
    rationale = re.sub(r"\n\s*\n+", "\n", rationale)
    if len(rationale) > RATIONALE_MAX_CHARS:
        rationale = rationale[: RATIONALE_MAX_CHARS - 1].rstrip() + "…"
    return rationale
