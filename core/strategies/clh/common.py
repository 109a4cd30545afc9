"""Pieces shared by the LLM steps and strategies: the run context, numbered options, ID answers, traces.

Candidates are shown to the model as numbered lines (``ID: n | code | term``) and the model answers IDs, so it
can only choose among codes we offered. Small in-process models answer JSON constrained by a schema whose
``enum`` lists the valid IDs; larger (server) models may reason first and answer inside ``<answer>...</answer>``.
An empty or unusable answer never removes anything: the step's deterministic path stands and the trace says why.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular, normalize_code
from core.kb.terms import TermEntry
from core.llm.base import LLMBackend
from core.llm.budget import PromptBudget
from core.llm.calls import CallOutcome, ParseError, call_with_retries, extract_rationale, parse_answer_ids
from core.llm.prompts import RenderedPrompt
from core.nlp.analysis import NoteAnalysis, analyze
from core.nlp.sentences import SentenceIndex
from core.nlp.textnorm import normalize
from core.progress import Progress as Progress  # re-exported: the strategies import both from here
from core.progress import noop_progress as noop_progress
from core.schema import CodeSuggestion, CodingResult, Mention, Span, StepTrace
from core.settings import Settings
from core.strategies.deterministic import decide, link_mentions

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

T = TypeVar("T")
R = TypeVar("R")

IDS_MAX_TOKENS_JSON = 16  # {"ids": []} and some slack ...
IDS_TOKENS_PER_ITEM = 4  # ... plus about 4 tokens per ID ("12, " is 3 to 4 tokens): a long answer is not cut off
IDS_MAX_TOKENS_TAGS = 256  # a short explanation, then <answer>...</answer>
MAX_WORKERS = 4


# -- run context -------------------------------------------------------------------------------------------------
@dataclass
class Baseline:
    """The deterministic path's result for the note: every strategy's fallback and backstop."""

    mentions: list[Mention]
    codes: list[CodeSuggestion]
    candidates: list[CodeSuggestion]
    link_trace: StepTrace
    decide_trace: StepTrace


@dataclass
class StepContext:
    text: str
    settings: Settings
    kb: KnowledgeBase
    backend: LLMBackend
    learned: list[TermEntry] = field(default_factory=list)
    splits: tuple[str, ...] | None = None
    note: NoteAnalysis | None = None  # the run's analysis (read here when a test builds a context by hand)
    dictionary: DictionaryLinker | None = None  # the run's linker, learned terms included

    @property
    def language(self) -> str:
        return self.settings.language

    @property
    def tabular(self) -> Tabular:
        return self.kb.tabular

    @cached_property
    def linker(self) -> DictionaryLinker:
        """The dictionary linker with the decision store's learned terms added."""
        if self.dictionary is not None:
            return self.dictionary
        base = self.kb.linker(self.language, self.splits)
        return base.with_terms(self.learned) if self.learned else base

    @cached_property
    def analysis(self) -> NoteAnalysis:
        return self.note if self.note is not None else analyze(self.text, self.language, self.linker)

    @property
    def sentences(self) -> SentenceIndex:
        return self.analysis.sentences

    @property
    def budget(self) -> PromptBudget:
        """Characters of note, chunk and guidance the prompts may carry in the configured context."""
        return PromptBudget.from_settings(self.settings)

    @cached_property
    def structured(self) -> bool:
        return structured_answers(self.backend)

    @cached_property
    def baseline(self) -> Baseline:
        mentions, link_trace = link_mentions(self.analysis, self.linker, len(self.learned))
        codes, candidates, decide_trace = decide(
            mentions, self.tabular, code_threshold=self.settings.code_threshold,
            candidate_threshold=self.settings.candidate_threshold, policy=self.settings.assertion_policy,
        )
        return Baseline(mentions, codes, candidates, link_trace, decide_trace)

    @property
    def llm_only_score(self) -> float:
        """Score of a code only the model (not the dictionary) proposed: a candidate until a later step confirms it."""
        return round((self.settings.candidate_threshold + self.settings.code_threshold) / 2, 4)


def structured_answers(backend: LLMBackend) -> bool:
    """Whether to ask for schema-constrained JSON (small in-process models) rather than reasoning + <answer>.

    A backend may set ``structured_answers`` itself; otherwise the embedded llama.cpp backend gets JSON.
    """
    preference = getattr(backend, "structured_answers", None)
    return bool(preference) if preference is not None else backend.name == "embedded"


# -- code candidates passed between steps ------------------------------------------------------------------------
@dataclass
class CodeCandidate:
    """A code on its way through the steps, with the mentions that support it."""

    code: str
    score: float
    mentions: list[Mention] = field(default_factory=list)
    term: str = ""  # the index / dictionary term that led to the code
    origin: str = ""  # dictionary | navigator:dictionary | navigator:retrieval | validator | ...
    rationale: str = ""
    step: str = ""

    @property
    def spans(self) -> list[Span]:
        seen: dict[tuple[int, int], Span] = {}
        for mention in self.mentions:
            seen.setdefault((mention.span.start, mention.span.end), mention.span)
        return sorted(seen.values(), key=lambda s: s.start)

    @property
    def evidence_text(self) -> str:
        texts = list(dict.fromkeys(span.text for span in self.spans))
        return "; ".join(texts)

    @property
    def first_start(self) -> int:
        spans = self.spans
        return spans[0].start if spans else 1 << 30

    def suggestion(self, tabular: Tabular, status: str = "code") -> CodeSuggestion:
        return CodeSuggestion(code=self.code, description=tabular.description(self.code), evidence=self.spans,
                              source=self.origin, score=round(self.score, 4), rationale=self.rationale,
                              step=self.step, status=status)  # type: ignore[arg-type]


def merge_by_code(candidates: Iterable[CodeCandidate]) -> list[CodeCandidate]:
    """One candidate per code: highest score, all supporting mentions, first-seen order."""
    merged: dict[str, CodeCandidate] = {}
    for candidate in candidates:
        current = merged.get(candidate.code)
        if current is None:
            merged[candidate.code] = CodeCandidate(
                candidate.code, candidate.score, list(candidate.mentions), candidate.term, candidate.origin,
                candidate.rationale, candidate.step,
            )
            continue
        for mention in candidate.mentions:
            if all(m is not mention for m in current.mentions):
                current.mentions.append(mention)
        if candidate.score > current.score:
            current.score, current.term, current.origin = candidate.score, candidate.term, candidate.origin
            current.rationale = candidate.rationale
    return list(merged.values())


def dictionary_scores(linker: DictionaryLinker, mention: Mention) -> dict[str, float]:
    """Calibrated dictionary score of every code the mention's term links to (best first)."""
    scores: dict[str, float] = {}
    matches = [m for m in linker.find(mention.span.text) if m.key in linker.rules]
    if matches:
        longest = max(matches, key=lambda m: m.end - m.start)
        scores = {code: round(score, 4) for code, score, _ in linker.scored_codes(longest.key)}
    if mention.codes and mention.codes[0] not in scores:
        scores = {mention.codes[0]: mention.score, **scores}
    return scores


def mention_key(mention: Mention) -> str:
    return normalize(mention.span.text)


# -- numbered options and ID answers -----------------------------------------------------------------------------
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

    def record(self) -> dict[str, Any]:
        return {"label": self.label, "ids": self.ids, "attempts": len(self.outcome.attempts),
                "fallback": self.fallback}


def choose_ids(
    ctx: StepContext, prompt: RenderedPrompt, valid_ids: set[int], *, max_items: int, label: str = ""
) -> IdChoice:
    """Ask the model for IDs. An empty selection counts as a fallback: the deterministic choice stands."""
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
        return IdChoice(label, prompt, outcome, [], outcome.fallback_reason, rationale)
    ids = list(outcome.value or [])[:max_items]
    fallback = None if ids else "the model chose none of the candidates (empty answer)"
    return IdChoice(label, prompt, outcome, ids, fallback, rationale)


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


# -- traces ------------------------------------------------------------------------------------------------------
class StepTimer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)


def apply_choices(trace: StepTrace, choices: list[IdChoice], what: str) -> None:
    """Fill the LLM fields of a trace from its calls; ``fallback`` summarises the calls that fell back."""
    if not choices:
        return
    trace.prompt_template = choices[0].prompt.template
    trace.prompt_version = choices[0].prompt.version
    trace.inputs.update(usage([c.outcome for c in choices]))
    trace.raw_answer = "\n---\n".join(f"[{c.label}] {c.outcome.raw_answer}" for c in choices) or None
    trace.parsed = [c.record() for c in choices]
    trace.rationale = " | ".join(f"{c.label}: {c.rationale}" for c in choices if c.rationale)[:2000]
    failed = [c for c in choices if c.fallback]
    if failed:
        reasons = "; ".join(dict.fromkeys(str(c.fallback) for c in failed))
        scope = "the call" if len(choices) == 1 else f"{len(failed)} of {len(choices)} calls"
        trace.fallback = f"{scope}: {reasons[:400]} — {what}"


def usage(outcomes: Iterable[CallOutcome[Any]]) -> dict[str, int]:
    """LLM calls (attempts) and tokens spent, for the trace."""
    attempts = [a for outcome in outcomes for a in outcome.attempts]
    return {"llm_attempts": len(attempts),
            "prompt_tokens": sum(a.prompt_tokens or 0 for a in attempts),
            "completion_tokens": sum(a.completion_tokens or 0 for a in attempts)}


# -- results -----------------------------------------------------------------------------------------------------
def with_backstop(
    codes: list[CodeSuggestion], candidates: list[CodeSuggestion], baseline: Baseline
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Append every code of the deterministic ranking the LLM steps did not keep, as candidates for review.

    The model can reorder and confirm, and move codes between "code" and "candidate", but never make a code the
    dictionary found disappear from the ranked list.
    """
    present = {s.code for s in [*codes, *candidates]}
    extra = []
    for suggestion in [*baseline.codes, *baseline.candidates]:
        if suggestion.code in present:
            continue
        present.add(suggestion.code)
        copy = suggestion.model_copy(deep=True)
        copy.status = "candidate"
        if suggestion.status == "code":
            copy.rationale = f"{suggestion.rationale} — dictionary code not retained by the LLM steps: for review"
        extra.append(copy)
    return codes, [*candidates, *extra]


_WRITTEN_CODE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?)\b")


def codes_written_in(text: str) -> set[str]:
    """ICD-10-CM-shaped codes printed in the note itself ("Z99.89", "z9989")."""
    return {normalize_code(m.group(1)) for m in _WRITTEN_CODE.finditer(text.upper())}


def drop_injected(
    ctx: StepContext, suggestions: list[CodeSuggestion]
) -> tuple[list[CodeSuggestion], list[str]]:
    """Prompt-injection guard: a code printed in the note is data, never an instruction. The LLM steps may
    output it only when the dictionary linked the note's words to it independently."""
    written = codes_written_in(ctx.text)
    if not written:
        return suggestions, []
    linked = {s.code for s in [*ctx.baseline.codes, *ctx.baseline.candidates]}
    kept = [s for s in suggestions if s.code not in written or s.code in linked]
    removed = [s.code for s in suggestions if s not in kept]
    return kept, removed


def build_result(
    ctx: StepContext, strategy: str, codes: list[CodeSuggestion], candidates: list[CodeSuggestion],
    mentions: list[Mention], trace: list[StepTrace],
) -> CodingResult:
    codes, removed_codes = drop_injected(ctx, codes)
    candidates, removed_candidates = drop_injected(ctx, candidates)
    removed = list(dict.fromkeys(removed_codes + removed_candidates))
    if removed:
        mentions = [m.model_copy(update={"codes": [c for c in m.codes if c not in removed]}) for m in mentions]
        mentions = [m for m in mentions if m.codes or m.source != "retrieval"]
        if trace:
            trace[-1].notes.append(f"removed {', '.join(removed)}: printed in the note itself and not linked by the "
                                   "dictionary (note text is data, not instructions)")
    return CodingResult(
        note_sha256=hashlib.sha256(ctx.text.encode()).hexdigest(),
        language=ctx.language,
        strategy=strategy,
        backend=ctx.settings.backend,
        model=ctx.backend.model,
        codes=codes,
        candidates=candidates,
        mentions=mentions,
        trace=trace,
    )


def baseline_result(
    ctx: StepContext, strategy: str, step: str, reason: str, extra: Sequence[StepTrace] = ()
) -> CodingResult:
    """The deterministic result, labelled with the strategy that fell back to it and why."""
    base = ctx.baseline
    decide_trace = base.decide_trace.model_copy(deep=True)
    decide_trace.fallback = reason
    decide_trace.notes.append(f"{step}: the deterministic ranking stands")
    return build_result(ctx, strategy, list(base.codes), list(base.candidates), list(base.mentions),
                        [*extra, base.link_trace, decide_trace])


def mentions_supporting(ctx: StepContext, code: str) -> list[Mention]:
    """Codable dictionary mentions that link to ``code``'s category: the evidence for a code chosen note-wide."""
    category = ctx.tabular.category(code)
    policy = ctx.settings.assertion_policy
    found = []
    for mention in ctx.baseline.mentions:
        if mention.assertion in ("negated", "family", "hypothetical") and policy != "codiesp":
            continue
        if any(ctx.tabular.category(c) == category for c in mention.codes):
            found.append(mention)
    return found


def _split_by_evidence(
    ctx: StepContext, chosen: Sequence[CodeCandidate]
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Codes the model chose note-wide are final only when the note's evidence backs them: the dictionary scored that
    very code at or above the code threshold, or a codable dictionary mention links to its category (the model then
    chose the specificity). A code only the model saw stays a candidate for the coder to confirm."""
    codes: list[CodeSuggestion] = []
    candidates: list[CodeSuggestion] = []
    for candidate in chosen:
        if candidate.score >= ctx.settings.code_threshold or mentions_supporting(ctx, candidate.code):
            codes.append(candidate.suggestion(ctx.tabular))
        else:
            suggestion = candidate.suggestion(ctx.tabular, status="candidate")
            suggestion.rationale = f"{suggestion.rationale} — no dictionary evidence in the note: for review"
            candidates.append(suggestion)
    return codes, candidates


def _keep_dictionary_codes(ctx: StepContext, codes: list[CodeSuggestion]) -> list[CodeSuggestion]:
    """The seed variants add to the deterministic result and make it more specific; they do not drop it. A dictionary
    code stays a code unless the model chose another code of its category (the model's choice then replaces it): a
    small model's silence about a code is not a rejection."""
    chosen = {s.code for s in codes}
    categories = {ctx.tabular.category(s.code) for s in codes}
    kept = list(codes)
    for suggestion in ctx.baseline.codes:
        if suggestion.code in chosen or ctx.tabular.category(suggestion.code) in categories:
            continue
        copy = suggestion.model_copy(deep=True)
        copy.rationale = f"{suggestion.rationale} — kept from the dictionary: the model chose no code of its category"
        kept.append(copy)
    return kept


def settle_model_choices(
    ctx: StepContext, chosen: Sequence[CodeCandidate]
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Codes and candidates of a seed variant from the codes its model chose: evidence-backed choices are codes, the
    dictionary's codes the model left alone stay codes, and the rest of the deterministic ranking follows as
    candidates."""
    codes, candidates = _split_by_evidence(ctx, chosen)
    return with_backstop(_keep_dictionary_codes(ctx, codes), candidates, ctx.baseline)


def baseline_score(ctx: StepContext, code: str) -> float:
    """The dictionary score of ``code`` for this note, or the model-only score when the dictionary lacks it."""
    for suggestion in [*ctx.baseline.codes, *ctx.baseline.candidates]:
        if suggestion.code == code:
            return suggestion.score
    return ctx.llm_only_score
