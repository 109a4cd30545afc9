from __future__ import annotations

import json

import pytest

from core.llm import BackendError, BackendTimeout, BackendUnavailable, get_backend
from core.llm.calls import (
    RATIONALE_MAX_CHARS,
    CallOutcome,
    ParseError,
    call_with_retries,
    extract_rationale,
    parse_answer_ids,
)
from core.llm.fake import FakeBackend
from core.settings import Settings

VALID = {0, 1, 2, 3, 4, 5, 12}


# --- parse_answer_ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Because of the cough.\n<answer>3, 5</answer>", [3, 5]),
        ("<answer>1</answer> wait, no: <answer>2 4</answer>", [2, 4]),  # the LAST block wins
        ("<ANSWER>\n12\n3\n</ANSWER>", [12, 3]),
        ("<answer>[3; 5; 3]</answer>", [3, 5]),  # brackets, semicolons, duplicates removed
        ("reasoning... <answer>4, 1", [4, 1]),  # closing tag cut off by a stop sequence
        ("3, 5", [3, 5]),  # no tag but only numbers
        (" 2\n", [2]),
        ("<answer>0</answer>", []),  # 0 = none of the candidates
        ("<answer>none</answer>", []),
        ("<answer>0, 2</answer>", [2]),
    ],
)
def test_parse_answer_ids_accepts(text: str, expected: list[int]) -> None:
    assert parse_answer_ids(text, VALID) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("The answer is 3", "no <answer>"),  # no tag and not just numbers
        ("", "no <answer>"),
        ("<answer></answer>", "empty answer"),
        ("<answer>E11.9</answer>", "not a list of IDs"),  # a code, not candidate IDs: never read 11 and 9
        ("<answer>3, pneumonia</answer>", "not a list of IDs"),
        ("<answer>3, 99</answer>", "invalid IDs [99]"),
        ("<answer>7</answer>", "invalid IDs"),
    ],
)
def test_parse_answer_ids_rejects(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_answer_ids(text, VALID)


def test_zero_is_invalid_when_not_offered() -> None:
    with pytest.raises(ParseError, match="invalid IDs"):
        parse_answer_ids("<answer>0</answer>", {1, 2})


def test_extract_rationale() -> None:
    assert extract_rationale("Fever and cough point to pneumonia.\n<answer>3</answer>") == (
        "Fever and cough point to pneumonia."
    )
    assert extract_rationale("<answer>3</answer>") == ""
    assert extract_rationale("First. <answer>1</answer> Second thoughts. <answer>2") == "First. Second thoughts."
    long = extract_rationale("x" * 5000 + "<answer>1</answer>")
    assert len(long) == RATIONALE_MAX_CHARS and long.endswith("…")


# --- call_with_retries ------------------------------------------------------------------------------------------


def _ids(text: str) -> list[int]:
    return parse_answer_ids(text, VALID)


def test_success_first_try() -> None:
    backend = FakeBackend(["ok <answer>1</answer>"])
    outcome = call_with_retries(backend, "pick", _ids, retries=2, system="sys", max_tokens=16)
    assert outcome.ok and outcome.value == [1] and outcome.fallback_reason is None
    assert len(outcome.attempts) == 1 and outcome.raw_answer == "ok <answer>1</answer>"
    assert backend.calls[0].system == "sys" and backend.calls[0].max_tokens == 16


def test_parse_error_then_success_repairs_prompt() -> None:
    backend = FakeBackend(["<answer>99</answer>", "<answer>2</answer>"])
    outcome = call_with_retries(backend, "pick one", _ids, retries=2)
    assert outcome.value == [2]
    assert [a.error is None for a in outcome.attempts] == [False, True]
    assert "invalid IDs" in (outcome.attempts[0].error or "")
    # the retry tells the model what was wrong (identical prompts give identical answers at temperature 0)
    assert backend.prompts[0] == "pick one"
    assert backend.prompts[1].startswith("pick one") and "invalid IDs [99]" in backend.prompts[1]


def test_backend_error_then_success() -> None:
    backend = FakeBackend(["<answer>3</answer>"], fail_times=1, error=BackendTimeout)
    outcome = call_with_retries(backend, "p", _ids, retries=1)
    assert outcome.value == [3] and outcome.ok
    assert outcome.attempts[0].raw is None and "BackendTimeout" in (outcome.attempts[0].error or "")
    assert backend.prompts == ["p", "p"]  # no repair text after a backend error


def test_unparseable_falls_back_after_all_attempts() -> None:
    backend = FakeBackend(["I think it is pneumonia."])
    outcome = call_with_retries(backend, "p", _ids, retries=2)
    assert outcome.value is None and not outcome.ok
    assert len(outcome.attempts) == 3
    assert outcome.fallback_reason and outcome.fallback_reason.startswith("unparseable answer after 3 attempts")
    assert outcome.raw_answer == "I think it is pneumonia."


def test_unavailable_falls_back_with_reason() -> None:
    backend = FakeBackend(["<answer>1</answer>"], fail_times=10, error=BackendUnavailable)
    outcome = call_with_retries(backend, "p", _ids, retries=2)
    assert outcome.value is None and len(outcome.attempts) == 3 and outcome.raw_answer is None
    assert outcome.fallback_reason and outcome.fallback_reason.startswith("backend unavailable: ")


def test_timeout_falls_back_with_reason() -> None:
    backend = FakeBackend(["<answer>1</answer>"], fail_times=10, error=BackendTimeout)
    outcome = call_with_retries(backend, "p", _ids, retries=2)
    assert outcome.fallback_reason and outcome.fallback_reason.startswith("timeout after 3 attempts")


def test_non_retryable_backend_error_stops_early() -> None:
    class TooLong(FakeBackend):
        def complete(self, prompt: str, **kwargs: object):  # type: ignore[override]
            self.calls.append(prompt)  # type: ignore[arg-type]
            raise BackendError("prompt exceeds context window", retryable=False)

    backend = TooLong(["x"])
    outcome = call_with_retries(backend, "p", _ids, retries=3)
    assert len(outcome.attempts) == 1
    assert outcome.fallback_reason == "backend error after 1 attempt: prompt exceeds context window"


def test_json_parse_errors_are_retried() -> None:
    backend = FakeBackend(['{"ids": [1,', '{"ids": [4]}'])
    outcome: CallOutcome[dict] = call_with_retries(
        backend, "p", lambda t: json.loads(t, strict=False), retries=1, json_schema={"type": "object"}
    )
    assert outcome.value == {"ids": [4]} and backend.calls[0].json_schema == {"type": "object"}


def test_zero_retries_means_one_attempt() -> None:
    backend = FakeBackend(["nonsense"])
    outcome = call_with_retries(backend, "p", _ids, retries=0)
    assert len(outcome.attempts) == 1 and outcome.fallback_reason == (
        "unparseable answer after 1 attempt: no <answer>...</answer> block in the reply: 'nonsense'"
    )


def test_fake_backend_callable_and_get_backend_none() -> None:
    backend = FakeBackend(lambda prompt: f"<answer>{len(prompt)}</answer>")
    assert backend.complete("abc").text == "<answer>3</answer>"
    assert get_backend(Settings(backend="none")) is None
