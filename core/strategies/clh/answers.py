"""Numbered options and ID answers: how the LLM steps ask a model to choose.

Candidates are shown to the model as numbered lines (``ID: n | code | term``) and the model answers IDs, so it
can only choose among codes we offered. Small in-process models answer JSON constrained by a schema whose
``enum`` lists the valid IDs; larger (server) models may reason first and answer inside ``<answer>...</answer>``.
An empty or unusable answer never removes anything: the step's deterministic path stands and the trace says why.
Each prompt also shows the deterministic step's own answer as the default (:func:`default_answer`): the model keeps
it or changes choices by ID, and the trace records which it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from core.llm.calls import CallOutcome, ParseError, call_with_retries, extract_rationale, parse_answer_ids
from core.llm.prompts import RenderedPrompt
from core.strategies.clh.context import StepContext

if TYPE_CHECKING:
    pass

T = TypeVar("T")
R = TypeVar("R")

IDS_MAX_TOKENS_JSON = 16  # {"ids": []} and some slack ...
IDS_TOKENS_PER_ITEM = 4  # ... plus about 4 tokens per ID ("12, " is 3 to 4 tokens): a long answer is not cut off
IDS_MAX_TOKENS_TAGS = 256  # a short explanation, then <answer>...</answer>
MAX_WORKERS = 4


@dataclass
class Option:
    id: int
    code: str
    term: str
    origin: str = ""
    score: float = 0.0
    owner: int = -1  # index of the candidate / mention this option belongs to (grouped prompts)

    def prompt_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "term": self.term, "description": self.term}

    def line(self) -> str:
        return f"ID: {self.id} | {self.code} | {self.term}"


def ids_schema(valid_ids: Iterable[int], max_items: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": {"type": "integer", "enum": sorted(set(valid_ids))},
                    "maxItems": max_items},
        },
        "required": ["ids"],
    }


def parse_ids(text: str, valid_ids: set[int]) -> list[int]:
    """IDs from ``{"ids": [...]}`` JSON or an ``<answer>`` block; ``[]`` means "none".

    Raises ParseError for invalid IDs and for contradictory answers that give 0 ("none") together with IDs.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped, strict=False)
        values = data.get("ids") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise ParseError(f'expected {{"ids": [...]}}, got {stripped[:120]!r}')
        ids: list[int] = []
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
                raise ParseError(f"not an ID: {value!r}")
            number = int(value)
            if number not in valid_ids:
                raise ParseError(f"invalid ID {number}: valid IDs are {', '.join(map(str, sorted(valid_ids)[:30]))}")
            if number not in ids:
                ids.append(number)
    else:
        chosen = parse_answer_ids(text, valid_ids)
        ids = chosen + [0] if chosen and _mentions_zero(text, valid_ids) else chosen
    if 0 in ids and len(ids) > 1:
        raise ParseError("the answer gives 0 (none) together with other IDs: give either 0 or the chosen IDs")
    return [i for i in ids if i != 0]


def _mentions_zero(text: str, valid_ids: set[int]) -> bool:
    try:
        parse_answer_ids(text, valid_ids - {0})
    except ParseError:
        return True
    return False


@dataclass
class IdChoice:
    """One ID-answer call: what was asked, what came back, what it means."""

    label: str
    prompt: RenderedPrompt
    outcome: CallOutcome[list[int]]
    ids: list[int]
    fallback: str | None  # None when the model chose at least one ID
    rationale: str = ""
    default: list[int] = field(default_factory=list)  # the deterministic step's answer, shown in the prompt

    @property
    def changed(self) -> bool:
        """The model answered and its answer is not the default (order aside)."""
        return self.fallback is None and set(self.ids) != set(self.default)

    def record(self) -> dict[str, Any]:
        return {"label": self.label, "ids": self.ids, "default": self.default, "changed": self.changed,
                "attempts": len(self.outcome.attempts), "fallback": self.fallback}


def default_answer(ids: Iterable[int], structured: bool) -> str:
    """The deterministic answer written the way the model is asked to answer (``{"ids": [..]}`` or tags)."""
    listed = list(ids) or [0]
    if structured:
        return json.dumps({"ids": [i for i in listed if i]})
    return f"<answer>{', '.join(map(str, listed))}</answer>"


def choose_ids(
    ctx: StepContext, prompt: RenderedPrompt, valid_ids: set[int], *, max_items: int, label: str = "",
    default: Iterable[int] = (),
) -> IdChoice:
    """Ask the model for IDs. An empty selection counts as a fallback: the deterministic choice (``default``, the
    IDs the prompt showed as the default answer) stands."""
    default = [i for i in default if i]
    valid = set(valid_ids) | {0}
    settings = ctx.settings
    if ctx.structured:
        outcome = call_with_retries(
            ctx.backend, prompt.text, lambda raw: parse_ids(raw, valid), retries=settings.retries,
            json_schema=ids_schema(valid, max_items),
            max_tokens=min(IDS_MAX_TOKENS_JSON + IDS_TOKENS_PER_ITEM * max_items, settings.max_tokens),
        )
    else:
        outcome = call_with_retries(
            ctx.backend, prompt.text, lambda raw: parse_ids(raw, valid), retries=settings.retries,
            max_tokens=min(IDS_MAX_TOKENS_TAGS, settings.max_tokens), stop=["</answer>"],
        )
    raw = outcome.raw_answer or ""
    rationale = "" if ctx.structured or not raw else extract_rationale(raw)
    if not outcome.ok:
        return IdChoice(label, prompt, outcome, [], outcome.fallback_reason, rationale, default)
    ids = list(outcome.value or [])[:max_items]
    fallback = None if ids else "the model chose none of the candidates (empty answer)"
    return IdChoice(label, prompt, outcome, ids, fallback, rationale, default)


def call_json(
    ctx: StepContext, prompt: RenderedPrompt, parse: Callable[[str], T], schema: dict[str, Any], max_tokens: int
) -> CallOutcome[T]:
    """A schema-constrained JSON call (every backend gets the schema; parsers also accept stray text)."""
    return call_with_retries(ctx.backend, prompt.text, parse, retries=ctx.settings.retries, json_schema=schema,
                             max_tokens=min(max_tokens, ctx.settings.max_tokens))


def load_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (models sometimes wrap it in prose or code fences)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ParseError(f"no JSON object in the answer: {text.strip()[:120]!r}")
    data = json.loads(text[start : end + 1], strict=False)
    if not isinstance(data, dict):
        raise ParseError("the answer is not a JSON object")
    return data


def run_all(function: Callable[[T], R], items: Sequence[T], concurrent: bool) -> list[R]:
    """``function`` over ``items`` in order; in threads when the backend serves calls concurrently."""
    if not concurrent or len(items) < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items))) as pool:
        return list(pool.map(function, items))
