"""Every coding strategy, registered by name, with the deterministic path as the safety net.

The strategies that ask a language model never raise for an unavailable backend or a failing step: the note is coded
by the dictionary path and the trace says why (the coder never loses the note).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.kb.terms import TermEntry
from core.llm import BackendError, LLMBackend, get_backend
from core.nlp.analysis import NoteAnalysis
from core.progress import Progress
from core.ranking.registry import rankers_for
from core.schema import CodingResult, StepTrace
from core.settings import STRATEGIES, Settings
from core.strategies.base import CodingContext, Strategy
from core.strategies.clh import run_clh
from core.strategies.deterministic import decide, link_mentions
from core.strategies.ranked import rank_codes
from core.strategies.variants import run_classifier_validator, run_dictionary_llm, run_hierarchical, run_rag

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

StrategyRunner = Callable[..., CodingResult]
STRATEGY_RUNNERS: dict[str, StrategyRunner] = {  # the strategies that ask a language model
    "clh": run_clh,
    "rag": run_rag,
    "hierarchical": run_hierarchical,
    "classifier-validator": run_classifier_validator,
    "dictionary-llm": run_dictionary_llm,
}


def available_backend(settings: Settings) -> tuple[LLMBackend | None, str]:
    """The configured backend if it answers its availability check, else (None, why not)."""
    try:
        backend = get_backend(settings)
    except (BackendError, ValueError) as exc:
        return None, f"backend {settings.backend!r} unusable: {exc}"
    if backend is None:
        return None, "no LLM backend configured (backend 'none')"
    try:
        ok, message = backend.check()
    except BackendError as exc:
        ok, message = False, str(exc)
    return (backend, "") if ok else (None, f"backend {settings.backend!r} unavailable: {message}")


def dictionary_result(ctx: CodingContext, *, fallback: str = "", note: str = "") -> CodingResult:
    """The dictionary path: mentions and calibrated thresholds. ``fallback`` says why a strategy that wanted more
    ran it instead (a warning); ``note`` records an expected choice (backend 'none')."""
    settings = ctx.settings
    ctx.progress("dictionary", "linking known terms")
    mentions, link_trace = link_mentions(ctx.analysis, ctx.linker, len(ctx.learned))
    ctx.progress("decide", "applying thresholds and assertion policy")
    codes, candidates, decide_trace = decide(
        mentions, ctx.kb.tabular, code_threshold=settings.code_threshold,
        candidate_threshold=settings.candidate_threshold, policy=settings.assertion_policy,
    )
    if fallback:
        decide_trace.fallback = f"{fallback}: strategy {settings.strategy!r} ran the deterministic path"
    if note:
        decide_trace.notes.append(note)
    return ctx.result("deterministic", codes, candidates, mentions, [link_trace, decide_trace])


@dataclass(frozen=True)
class DeterministicStrategy:
    """Dictionary matches and calibrated thresholds, no model of any kind."""

    name: str = "deterministic"
    needs_llm: bool = False
    merges_ranker: bool = False

    def run(self, analysis: NoteAnalysis, ctx: CodingContext) -> CodingResult:
        return dictionary_result(ctx)


@dataclass(frozen=True)
class RankerStrategy:
    """Dictionary candidates re-scored by the supervised ranker (dictionary thresholds without coded notes)."""

    name: str = "ranker"
    needs_llm: bool = False
    merges_ranker: bool = False

    def run(self, analysis: NoteAnalysis, ctx: CodingContext) -> CodingResult:
        model = ctx.ranker
        if model is None:
            result = dictionary_result(ctx, fallback="no coded notes to train the ranker on (CodiEsp not found)")
            result.strategy = "ranker"
            return result
        ctx.progress("dictionary", "linking known terms")
        mentions, link_trace = link_mentions(analysis, ctx.linker, len(ctx.learned))
        ctx.progress("ranker", "scoring candidate codes")
        codes, candidates, trace = rank_codes(analysis, ctx.linker, ctx.kb.tabular, model,
                                              policy=ctx.settings.assertion_policy)
        return ctx.result("ranker", codes, candidates, mentions, [link_trace, trace], model=model.name)


@dataclass(frozen=True)
class LLMStrategy:
    """A strategy whose steps ask a language model; without one answering, the dictionary path codes the note."""

    name: str
    needs_llm: bool = True
    merges_ranker: bool = True

    @property
    def runner(self) -> StrategyRunner:
        return STRATEGY_RUNNERS[self.name]

    def run(self, analysis: NoteAnalysis, ctx: CodingContext) -> CodingResult:
        settings = ctx.settings
        backend = ctx.backend
        if backend is None:
            if settings.backend == "none":
                return dictionary_result(ctx, note=f"strategy {self.name!r} needs an LLM; backend 'none' runs the "
                                                   "deterministic path")
            ctx.progress("backend", f"checking the {settings.backend} backend")
            backend, reason = available_backend(settings)
            if backend is None:
                return dictionary_result(ctx, fallback=reason)
        try:
            return self.runner(ctx.text, settings, ctx.kb, backend, learned=ctx.learned, progress=ctx.progress,
                               splits=ctx.splits, note=analysis, dictionary=ctx.linker)
        except Exception as exc:  # noqa: BLE001 - a coder must never lose the note to a strategy bug
            log.exception("strategy %s failed; falling back to the deterministic path", self.name)
            reason = f"strategy failed: {type(exc).__name__}: {exc}"
            result = dictionary_result(ctx, fallback=reason)
            result.trace.insert(0, StepTrace(step=self.name, fallback=reason))
            return result


REGISTRY: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (DeterministicStrategy(), RankerStrategy(),
                     *(LLMStrategy(name) for name in STRATEGY_RUNNERS))
}
assert set(REGISTRY) == set(STRATEGIES), "settings.STRATEGIES names the registered strategies"


def get_strategy(name: str) -> Strategy | None:
    return REGISTRY.get(name)


def uses_ranker(settings: Settings) -> bool:
    """Whether coding with ``settings`` reads the supervised ranker (its own strategy, or the merge)."""
    strategy = get_strategy(settings.strategy)
    return strategy is not None and (strategy.name == "ranker" or (settings.ranker_merge and strategy.merges_ranker))


def run_strategy(
    text: str,
    settings: Settings,
    kb: KnowledgeBase,
    *,
    learned: Iterable[TermEntry] = (),
    progress: Progress | None = None,
    splits: tuple[str, ...] | None = None,
    backend: LLMBackend | None = None,
) -> CodingResult:
    """Code ``text`` with ``settings.strategy`` alone (no ranker merge, no edit checks); ``backend`` overrides the
    configured one (tests, the seed-variant comparisons)."""
    ctx = CodingContext.create(text, settings, kb, rankers_for(kb), splits=splits, learned=list(learned),
                               progress=progress, backend=backend)
    strategy = get_strategy(settings.strategy)
    if strategy is None:
        known = ", ".join(STRATEGY_RUNNERS)
        return dictionary_result(ctx, fallback=f"unknown LLM strategy {settings.strategy!r} (known: {known})")
    if backend is None and settings.backend == "none" and strategy.needs_llm:
        ctx.progress("backend", f"checking the {settings.backend} backend")
        return dictionary_result(ctx, fallback="no LLM backend configured (backend 'none')")
    return strategy.run(ctx.analysis, ctx)
