"""The supervised ranker as a stage of the other strategies (issue: merge the learned and the open-set paths).

Any strategy's result (CLH, RAG, the deterministic path, ...) is merged with the ranker's scores for the same note:
a code the ranker has an evidence row for is coded or left for review by the ranker's calibrated score and its
out-of-fold thresholds, whichever step proposed it, and the ranker adds the codes it is confident about that the
strategy missed. A code the ranker has no row for (the strategy reached it through retrieval, the index or an LLM)
is open-set: it keeps the strategy's decision. Every merged code says in its rationale where it came from.
"""

from __future__ import annotations

import copy
import time

from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular
from core.nlp.analysis import NoteAnalysis
from core.ranking.ranker import RankerModel
from core.schema import CodeSuggestion, CodingResult, Span, StepTrace, copy_suggestion
from core.strategies.ranked import rank_note

STEP = "ranker-merge"


def _union_evidence(first: list[Span], second: list[Span]) -> list[Span]:
    seen = {(s.start, s.end) for s in first}
    return [*first, *(s for s in second if (s.start, s.end) not in seen)]


def merge_with_ranker(
    analysis: NoteAnalysis,
    linker: DictionaryLinker,
    result: CodingResult,
    tabular: Tabular,
    model: RankerModel,
    *,
    policy: str,
) -> CodingResult:
    """``result`` with its codes / candidates decided by the ranker where it has evidence, open set elsewhere."""
    ranking = rank_note(analysis, linker, tabular, model, policy=policy)
    started = time.perf_counter()  # the ranker's own time is in its trace
    ranked_codes, ranked_candidates = ranking.codes, ranking.candidates
    scored = ranking.scores  # every code the ranker has a row for
    proposed = {s.code: s for s in [*result.candidates, *result.codes]}  # a code listed twice: as coded
    codes: list[CodeSuggestion] = []
    candidates: list[CodeSuggestion] = []
    decisions: list[dict[str, object]] = []
    for suggestion in [*ranked_codes, *ranked_candidates]:
        own = proposed.get(suggestion.code)
        merged = copy_suggestion(suggestion)
        if own is not None:
            merged.evidence = _union_evidence(merged.evidence, own.evidence)
            merged.rationale += f"; the {result.strategy} path proposed it as a {own.status} ({own.source})"
        (codes if merged.status == "code" else candidates).append(merged)
        decisions.append({"code": merged.code, "strategy": own.status if own else "", "ranker_p": merged.score,
                          "final": merged.status})
    ranked = {s.code for s in [*ranked_codes, *ranked_candidates]}
    for code, own in proposed.items():
        if code in ranked:
            continue
        merged = copy_suggestion(own)
        if code in scored:  # the ranker has evidence for it and scored it below its candidate threshold
            merged.status = "candidate"
            merged.rationale += f"; ranker p={scored[code]:.2f} is below its candidate threshold: for review only"
        else:
            merged.rationale += "; open set: the ranker has no evidence row for this code, the strategy's decision stands"
        (codes if merged.status == "code" else candidates).append(merged)
        decisions.append({"code": code, "strategy": own.status, "ranker_p": scored.get(code), "final": merged.status})
    # The strategy's order first (the CLH reconciler sequences its codes), then what the ranker added, best first.
    order = {s.code: i for i, s in enumerate(result.codes)}
    codes.sort(key=lambda s: (order.get(s.code, len(order)), -s.score))
    trace = StepTrace(
        step=STEP,
        inputs={"model": model.name, "strategy": result.strategy, "policy": policy,
                "code_threshold": model.thresholds(policy)[0], "open_set_threshold": model.thresholds(policy)[1]},
        candidates=decisions,
        output_codes=[c.code for c in codes],
        rationale="the ranker decides the codes it has evidence for; codes it never scored keep the strategy's decision",
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    merged_result = result.model_copy()  # deep for every field but the three replaced below
    for name, value in merged_result.__dict__.items():
        if name not in ("codes", "candidates", "trace"):
            merged_result.__dict__[name] = copy.deepcopy(value)
    merged_result.codes = codes
    merged_result.candidates = candidates
    merged_result.trace = [*result.trace, ranking.trace(), trace]
    return merged_result
