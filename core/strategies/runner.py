"""Entry point that codes one note with the chosen strategy and backend."""

from __future__ import annotations

import time
import unicodedata
from typing import Any

from core.kb.knowledge import KnowledgeBase, get_knowledge
from core.kb.tabular import normalize_code
from core.kb.terms import TermEntry
from core.llm.base import LLMBackend
from core.progress import Progress
from core.ranking.registry import RankerSource, rankers_for
from core.rules.edit_checks import run_edit_checks
from core.rules.reconciler import reconcile
from core.schema import CodingResult, EditMessage
from core.settings import Settings
from core.strategies.base import CodingContext
from core.strategies.merge import merge_with_ranker
from core.strategies.registry import get_strategy

MAX_NOTE_CHARS = 200_000


def compose_accents(text: str) -> str:
    """The note in Unicode NFC. Text copied from some PDFs and macOS apps writes "ó" as "o" plus a combining
    accent; the dictionaries, cue words and rules are written composed and would miss those words silently.
    Intake (the app, the CLI) stores and codes this form, so evidence offsets point into the text kept."""
    return unicodedata.normalize("NFC", text) if isinstance(text, str) else text


def _has_visible_text(text: str) -> bool:
    """Anything besides whitespace, control and invisible format characters (zero-width space, BOM, marks)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)


def validate_note_text(text: str) -> str:
    """Reject input that cannot be a clinical note, with a message a coder understands."""
    if text is None or not _has_visible_text(str(text)):
        raise ValueError("The note is empty: paste or upload the text of a clinical note.")
    if "\x00" in text:
        raise ValueError("The note looks like a binary file (it contains NUL bytes): upload plain UTF-8 text.")
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(
            f"The note has {len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}. Split it into separate notes."
        )
    return text


def learned_entries(rows: list[dict[str, Any]] | None, language: str) -> list[TermEntry]:
    """Decision-store learned terms (accepted / added spans) as dictionary entries."""
    entries = []
    for row in rows or []:
        if row.get("language", language) != language or not row.get("term"):
            continue
        entries.append(TermEntry(text=row["term"], code=normalize_code(row["code"]), source="learned"))
    return entries


def code_note(
    text: str,
    settings: Settings,
    *,
    learned_terms: list[dict[str, Any]] | None = None,
    progress: Progress | None = None,
    kb: KnowledgeBase | None = None,
    splits: tuple[str, ...] | None = None,
    rankers: RankerSource | None = None,
    backend: LLMBackend | None = None,
) -> CodingResult:
    """Code one note: read it once, run the strategy, let the ranker decide the codes it has evidence for, then the
    edit checks. ``rankers`` pins the ranker (retraining scores a candidate model); ``backend`` overrides the
    configured language model."""
    validate_note_text(text)
    kb = kb or get_knowledge(settings)
    started = time.perf_counter()
    learned = learned_entries(learned_terms, settings.language) if settings.learn_from_decisions else []
    ctx = CodingContext.create(text, settings, kb, rankers or rankers_for(kb), splits=splits, learned=learned,
                               progress=progress, backend=backend)
    strategy = get_strategy(settings.strategy)
    if strategy is None:
        raise ValueError(f"unknown strategy {settings.strategy!r}")
    result = strategy.run(ctx.analysis, ctx)
    if settings.ranker_merge and strategy.merges_ranker:
        result = _merge_ranker(result, ctx)
    warnings: list[str] = []
    if settings.reconciler:
        ctx.progress("conventions", "applying the coding conventions")
        result, warnings = reconcile(result, ctx.analysis, ctx.linker, kb, settings.assertion_policy)
    ctx.progress("edit-checks", "checking the final code list")
    result.model = result.model or (settings.model if settings.backend != "none" else "")
    result.messages = [*run_edit_checks(result.codes, kb.tabular),
                       *(EditMessage(level="warning", message=w) for w in warnings)]
    result.resources = kb.resource_versions()
    result.timings_ms = {t.step: t.duration_ms for t in result.trace}
    result.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _merge_ranker(result: CodingResult, ctx: CodingContext) -> CodingResult:
    """The strategy's result merged with the supervised ranker's scores; unchanged (with a trace note) when no
    ranker can be trained (no coded notes on this machine)."""
    ctx.progress("ranker-merge", "scoring the strategy's codes with the supervised ranker")
    model = ctx.ranker
    if model is None:
        if result.trace:
            result.trace[-1].notes.append("no coded notes to train the ranker on: the strategy's decisions stand")
        return result
    return merge_with_ranker(ctx.analysis, ctx.linker, result, ctx.kb.tabular, model,
                             policy=ctx.settings.assertion_policy)
