"""What the seed variants share: the runner signature around their steps, and how a model's choices become a result.

A variant is written as ``steps(ctx, notify)`` on one :class:`StepContext`; :func:`variant_runner` gives it the
signature ``LLMStrategy`` calls every strategy that asks a model with (the same as ``run_clh``'s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import TYPE_CHECKING

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.llm.base import LLMBackend
from core.nlp.analysis import NoteAnalysis
from core.progress import Progress, noop_progress
from core.schema import CodingResult, Mention, StepTrace
from core.settings import Settings
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.results import baseline_score, build_result, mentions_supporting, settle_model_choices

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

VariantSteps = Callable[[StepContext, Progress], CodingResult]
VariantRunner = Callable[..., CodingResult]


def variant_runner(steps: VariantSteps) -> VariantRunner:
    """``steps`` as a strategy runner: one StepContext for the note, progress or nobody told."""

    @wraps(steps)
    def run(
        text: str, settings: Settings, kb: KnowledgeBase, backend: LLMBackend, *, learned: Iterable[TermEntry] = (),
        progress: Progress | None = None, splits: tuple[str, ...] | None = None,
        note: NoteAnalysis | None = None, dictionary: DictionaryLinker | None = None,
    ) -> CodingResult:
        ctx = StepContext(text, settings, kb, backend, list(learned), splits, note, dictionary)
        return steps(ctx, progress or noop_progress)

    del run.__wrapped__  # its signature is the runner's, not the steps'
    return run


def note_wide_candidate(ctx: StepContext, code: str, origin: str, step: str, rationale: str) -> CodeCandidate:
    """A code the model chose for the whole note: the dictionary's score for it and the mentions that support it."""
    return CodeCandidate(code, baseline_score(ctx, code), mentions_supporting(ctx, code), origin=origin, step=step,
                         rationale=rationale)


def model_choice_result(
    ctx: StepContext, strategy: str, chosen: Sequence[CodeCandidate], traces: Sequence[StepTrace],
    mentions: list[Mention] | None = None,
) -> CodingResult:
    """The variant's result from the codes its model chose (``settle_model_choices``), after the dictionary's
    linking trace; ``mentions`` default to the dictionary's."""
    codes, candidates = settle_model_choices(ctx, chosen)
    return build_result(ctx, strategy, codes, candidates, ctx.baseline.mentions if mentions is None else mentions,
                        [ctx.baseline.link_trace, *traces])
