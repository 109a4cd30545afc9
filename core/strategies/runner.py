"""Entry point that codes one note with the chosen strategy and backend."""

from __future__ import annotations

import hashlib
import time
import unicodedata
from typing import Any

from core.kb.knowledge import KnowledgeBase, get_knowledge
from core.kb.tabular import normalize_code
from core.kb.terms import TermEntry
from core.progress import Progress
from core.ranking.ranker import RankerModel
from core.ranking.registry import RankerSource, rankers_for
from core.rules.edit_checks import run_edit_checks
from core.schema import CodingResult
from core.settings import Settings
from core.strategies.deterministic import decide, link_mentions

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
) -> CodingResult:
    validate_note_text(text)
    kb = kb or get_knowledge(settings)
    rankers = rankers or rankers_for(kb)
    notify = progress or (lambda step, message: None)
    started = time.perf_counter()
    language = settings.language
    learned = learned_entries(learned_terms, language) if settings.learn_from_decisions else []

    strategy = settings.strategy
    if strategy == "ranker":
        result = _run_ranker(text, settings, kb, rankers.get(language, splits), learned=learned, notify=notify,
                             splits=splits)
    elif settings.backend != "none" and strategy not in ("deterministic",):
        from core.strategies.registry import run_strategy  # LLM strategies

        result = run_strategy(text, settings, kb, learned=learned, progress=notify, splits=splits)
    else:
        notify("dictionary", "linking known terms")
        linker = kb.linker(language, splits)
        mentions, link_trace = link_mentions(text, linker, learned)
        notify("decide", "applying thresholds and assertion policy")
        codes, candidates, decide_trace = decide(
            mentions,
            kb.tabular,
            code_threshold=settings.code_threshold,
            candidate_threshold=settings.candidate_threshold,
            policy=settings.assertion_policy,
        )
        trace = [link_trace, decide_trace]
        if settings.backend == "none" and strategy not in ("deterministic",):
            decide_trace.notes.append(f"strategy {strategy!r} needs an LLM; backend 'none' runs the deterministic path")
        result = CodingResult(
            note_sha256=hashlib.sha256(text.encode()).hexdigest(),
            language=language,
            strategy="deterministic" if settings.backend == "none" else strategy,
            backend=settings.backend,
            codes=codes,
            candidates=candidates,
            mentions=mentions,
            trace=trace,
        )
    if settings.ranker_merge and strategy not in ("ranker", "deterministic"):
        result = _merge_ranker(text, result, settings, kb, rankers.get(language, splits), learned=learned,
                               notify=notify, splits=splits)
    notify("edit-checks", "checking the final code list")
    result.model = result.model or (settings.model if settings.backend != "none" else "")
    result.messages = run_edit_checks(result.codes, kb.tabular)
    result.resources = kb.resource_versions()
    result.timings_ms = {t.step: t.duration_ms for t in result.trace}
    result.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _run_ranker(
    text: str, settings: Settings, kb: KnowledgeBase, model: RankerModel | None, *, learned: list[TermEntry],
    notify: Progress, splits: tuple[str, ...] | None = None,
) -> CodingResult:
    from core.strategies.ranked import rank_codes

    notify("dictionary", "linking known terms")
    mentions, link_trace = link_mentions(text, kb.linker(settings.language, splits), learned)
    notify("ranker", "scoring candidate codes")
    if model is None:
        codes, candidates, trace = decide(
            mentions, kb.tabular, code_threshold=settings.code_threshold,
            candidate_threshold=settings.candidate_threshold, policy=settings.assertion_policy,
        )
        trace.fallback = "no coded notes to train the ranker on (CodiEsp not found): dictionary thresholds used"
    else:
        codes, candidates, trace = rank_codes(text, kb, model, language=settings.language, splits=splits,
                                              learned=learned, policy=settings.assertion_policy)
    return CodingResult(
        note_sha256=hashlib.sha256(text.encode()).hexdigest(), language=settings.language, strategy="ranker",
        backend=settings.backend, model=model.name if model else "", codes=codes, candidates=candidates,
        mentions=mentions, trace=[link_trace, trace],
    )


def _merge_ranker(
    text: str, result: CodingResult, settings: Settings, kb: KnowledgeBase, model: RankerModel | None, *,
    learned: list[TermEntry], notify: Progress, splits: tuple[str, ...] | None,
) -> CodingResult:
    """The strategy's result merged with the supervised ranker's scores; unchanged (with a trace note) when no
    ranker can be trained (no coded notes on this machine)."""
    from core.strategies.merge import merge_with_ranker

    notify("ranker-merge", "scoring the strategy's codes with the supervised ranker")
    if model is None:
        if result.trace:
            result.trace[-1].notes.append("no coded notes to train the ranker on: the strategy's decisions stand")
        return result
    return merge_with_ranker(text, result, kb, model, splits=splits, learned=learned, policy=settings.assertion_policy)
