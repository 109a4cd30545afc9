"""What every strategy receives and returns: one note's analysis and the context of the run.

A strategy is registered by name (:mod:`core.strategies.registry`) with ``needs_llm`` (it asks a language model; with
none available it runs its deterministic steps), ``merges_ranker`` (the supervised ranker then decides the codes it
has evidence for) and ``run(analysis, ctx) -> CodingResult``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.nlp.analysis import NoteAnalysis, analyze
from core.progress import Progress, noop_progress
from core.schema import CodeSuggestion, CodingResult, Mention, StepTrace
from core.settings import Settings

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase
    from core.llm.base import LLMBackend
    from core.ranking.ranker import RankerModel
    from core.ranking.registry import RankerSource

@dataclass
class CodingContext:
    """One coding run: the settings, the knowledge base, the dictionary (with the coders' learned terms), the note's
    analysis, the ranker and, for strategies that ask one, the language model."""

    settings: Settings
    kb: KnowledgeBase
    linker: DictionaryLinker
    analysis: NoteAnalysis
    rankers: RankerSource
    splits: tuple[str, ...] | None = None
    learned: list[TermEntry] = field(default_factory=list)
    progress: Progress = noop_progress
    backend: LLMBackend | None = None  # overrides the configured backend (tests, the UI)

    @classmethod
    def create(
        cls, text: str, settings: Settings, kb: KnowledgeBase, rankers: RankerSource, *,
        splits: tuple[str, ...] | None = None, learned: list[TermEntry] | None = None,
        progress: Progress | None = None, backend: LLMBackend | None = None,
    ) -> CodingContext:
        """Read the note once with the dictionary the run codes with."""
        learned = list(learned or [])
        linker = kb.linker(settings.language, splits)
        if learned:
            linker = linker.with_terms(learned)
        return cls(settings, kb, linker, analyze(text, settings.language, linker), rankers, splits, learned,
                   progress or noop_progress, backend)

    @property
    def text(self) -> str:
        return self.analysis.text

    @property
    def language(self) -> str:
        return self.settings.language

    @cached_property
    def ranker(self) -> RankerModel | None:
        return self.rankers.get(self.language, self.splits)

    def result(self, strategy: str, codes: list[CodeSuggestion], candidates: list[CodeSuggestion],
               mentions: list[Mention], trace: list[StepTrace], model: str = "") -> CodingResult:
        return CodingResult(
            note_sha256=hashlib.sha256(self.text.encode()).hexdigest(), language=self.language, strategy=strategy,
            backend=self.settings.backend, model=model, codes=codes, candidates=candidates, mentions=mentions,
            trace=trace,
        )


class Strategy(Protocol):
    name: str
    needs_llm: bool
    merges_ranker: bool

    def run(self, analysis: NoteAnalysis, ctx: CodingContext) -> CodingResult: ...
