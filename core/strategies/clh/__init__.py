"""The "Code Like Humans" strategy: evidence → navigator → validator → reconciler, each step inspectable.

Every step returns a :class:`~core.schema.StepTrace` (prompt template and version, inputs, candidates shown,
raw answer, parsed answer, rationale, output codes, duration, fallback). The deterministic dictionary path is
every step's fallback, and its ranking is kept as a backstop: codes the LLM steps did not keep stay in the
candidates for review.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.llm.base import LLMBackend
from core.nlp.analysis import NoteAnalysis
from core.progress import Progress, noop_progress
from core.schema import CodingResult
from core.settings import Settings
from core.strategies.clh.context import StepContext
from core.strategies.clh.evidence import EvidenceResult, find_evidence
from core.strategies.clh.navigator import NavigationResult, navigate
from core.strategies.clh.reconciler import ReconcileResult, reconcile
from core.strategies.clh.results import build_result, with_backstop
from core.strategies.clh.validator import ValidationResult, complete_to_billable, validate

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

CLH_STEPS = ("evidence", "navigator", "validator", "reconciler")

__all__ = [
    "CLH_STEPS",
    "EvidenceResult",
    "NavigationResult",
    "ReconcileResult",
    "StepContext",
    "ValidationResult",
    "complete_to_billable",
    "find_evidence",
    "navigate",
    "reconcile",
    "run_clh",
    "validate",
]


def run_clh(
    text: str,
    settings: Settings,
    kb: KnowledgeBase,
    backend: LLMBackend,
    *,
    learned: Iterable[TermEntry] = (),
    progress: Progress | None = None,
    splits: tuple[str, ...] | None = None,
    note: NoteAnalysis | None = None,
    dictionary: DictionaryLinker | None = None,
) -> CodingResult:
    notify = progress or noop_progress
    ctx = StepContext(text, settings, kb, backend, list(learned), splits, note, dictionary)
    notify("evidence", "finding the terms to code (dictionary and model)")
    evidence = find_evidence(ctx)
    notify("navigator", f"looking up {len(evidence.codable)} term(s) in the index")
    navigation = navigate(ctx, evidence.codable)
    notify("validator", f"checking {len(navigation.candidates)} candidate code(s) in the tabular list")
    validation = validate(ctx, navigation.candidates)
    notify("reconciler", f"choosing the final codes among {len(validation.codes)}")
    final = reconcile(ctx, validation.codes, validation.review)
    codes, candidates = with_backstop(final.codes, final.candidates, ctx.baseline)
    trace = [evidence.trace, navigation.trace, validation.trace, final.trace]
    return build_result(ctx, "clh", codes, candidates, evidence.mentions, trace)
