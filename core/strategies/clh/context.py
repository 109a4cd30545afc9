"""The run context the LLM steps share: one note, its analysis and dictionary, the deterministic baseline, and the
code candidates passed from step to step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular
from core.kb.terms import TermEntry
from core.llm.base import LLMBackend
from core.llm.budget import PromptBudget
from core.nlp.analysis import NoteAnalysis, analyze
from core.nlp.sentences import SentenceIndex
from core.nlp.textnorm import normalize
from core.schema import CodeSuggestion, Mention, Span, StepTrace
from core.settings import Settings
from core.strategies.deterministic import decide, link_mentions

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase


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


def dictionary_scores(ctx: StepContext, mention: Mention) -> dict[str, float]:
    """Calibrated dictionary score of every code the mention's term links to (best first): the term the note's
    analysis matched there, so the dictionary never reads the note twice."""
    scores: dict[str, float] = {}
    span = (mention.span.start, mention.span.end)
    match = next((m for m in ctx.analysis.mentions if (m.start, m.end) == span and m.key in ctx.linker.rules), None)
    if match is not None:
        scores = {code: round(score, 4) for code, score, _ in ctx.linker.scored_codes(match.key)}
    if mention.codes and mention.codes[0] not in scores:
        scores = {mention.codes[0]: mention.score, **scores}
    return scores


def mention_key(mention: Mention) -> str:
    return normalize(mention.span.text)
