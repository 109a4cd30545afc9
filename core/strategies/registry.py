"""LLM strategies behind one entry point, with the deterministic path as the safety net.

``run_strategy`` never raises for an unavailable backend or a failing strategy: the note is coded by the
dictionary path and the trace says why (the coder never loses the note).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from core.kb.terms import TermEntry
from core.llm import BackendError, LLMBackend, get_backend
from core.schema import CodingResult, StepTrace
from core.settings import Settings
from core.strategies.clh import run_clh
from core.strategies.clh.common import Progress, StepContext, baseline_result, noop_progress
from core.strategies.deterministic import decide, link_mentions
from core.strategies.variants import run_classifier_validator, run_dictionary_llm, run_hierarchical, run_rag

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

StrategyRunner = Callable[..., CodingResult]
STRATEGY_RUNNERS: dict[str, StrategyRunner] = {
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


def deterministic_fallback(
    text: str, settings: Settings, kb: KnowledgeBase, *, learned: Iterable[TermEntry], splits: tuple[str, ...] | None,
    reason: str,
) -> CodingResult:
    """The dictionary path's result, labelled as a fallback of the requested strategy."""
    mentions, link_trace = link_mentions(text, kb.linker(settings.language, splits), learned)
    codes, candidates, decide_trace = decide(
        mentions, kb.tabular, code_threshold=settings.code_threshold,
        candidate_threshold=settings.candidate_threshold, policy=settings.assertion_policy,
    )
    decide_trace.fallback = f"{reason}: strategy {settings.strategy!r} ran the deterministic path"
    return CodingResult(
        note_sha256=hashlib.sha256(text.encode()).hexdigest(), language=settings.language, strategy="deterministic",
        backend=settings.backend, codes=codes, candidates=candidates, mentions=mentions,
        trace=[link_trace, decide_trace],
    )


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
    """Code ``text`` with ``settings.strategy``; ``backend`` overrides the configured one (tests, the UI)."""
    learned = list(learned)
    notify = progress or noop_progress
    runner = STRATEGY_RUNNERS.get(settings.strategy)
    if runner is None:
        reason = f"unknown LLM strategy {settings.strategy!r} (known: {', '.join(STRATEGY_RUNNERS)})"
        return deterministic_fallback(text, settings, kb, learned=learned, splits=splits, reason=reason)
    if backend is None:
        notify("backend", f"checking the {settings.backend} backend")
        backend, reason = available_backend(settings)
        if backend is None:
            return deterministic_fallback(text, settings, kb, learned=learned, splits=splits, reason=reason)
    try:
        return runner(text, settings, kb, backend, learned=learned, progress=notify, splits=splits)
    except Exception as exc:  # noqa: BLE001 - a coder must never lose the note to a strategy bug
        log.exception("strategy %s failed; falling back to the deterministic path", settings.strategy)
        ctx = StepContext(text, settings, kb, backend, learned, splits)
        failure = StepTrace(step=settings.strategy, fallback=f"strategy failed: {type(exc).__name__}: {exc}")
        return baseline_result(ctx, "deterministic", settings.strategy, failure.fallback or "", [failure])
