"""The ranker strategy: dictionary candidates re-scored by the supervised ranker, thresholds tuned out of fold."""

from __future__ import annotations

import time

from core.assertion import NOT_CODED
from core.kb.terms import TermEntry
from core.knowledge import KnowledgeBase
from core.ranker import RankerModel, extract_candidates, unseen_in_training
from core.schema import CodeSuggestion, StepTrace


def rank_codes(
    text: str,
    kb: KnowledgeBase,
    model: RankerModel,
    *,
    language: str,
    splits: tuple[str, ...] | None,
    learned: list[TermEntry],
    policy: str,
) -> tuple[list[CodeSuggestion], list[CodeSuggestion], StepTrace]:
    started = time.perf_counter()
    linker = kb.linker(language, splits)
    if learned:
        linker = linker.with_terms(learned)
    rows = extract_candidates(text, linker, kb.tabular, model.priors)
    probabilities = model.score(rows)
    codes: list[CodeSuggestion] = []
    candidates: list[CodeSuggestion] = []
    for row, probability in sorted(zip(rows, probabilities, strict=True), key=lambda x: -x[1]):
        unseen = unseen_in_training(row)  # the ranker never saw this code: keep the open-set path
        if probability < model.candidate_threshold and not unseen:
            continue
        threshold = model.threshold_for(row, policy)
        not_codable = policy != "codiesp" and all(a in NOT_CODED for a in row.assertions)
        status = "code" if probability >= threshold and not not_codable else "candidate"
        why = f"ranker p={probability:.2f} (code at ≥{threshold}) from terms {sorted(set(row.terms))[:3]}"
        if unseen:
            why += "; code unseen in training, scored with the open-set threshold"
        if not_codable:
            why += f"; every mention is {'/'.join(sorted(set(row.assertions)))}: for review only"
        suggestion = CodeSuggestion(
            code=row.code,
            description=kb.tabular.description(row.code),
            evidence=row.evidence,
            source=model.name,
            score=round(float(probability), 4),
            rationale=why,
            step="ranker",
            status=status,
        )
        (codes if status == "code" else candidates).append(suggestion)
    trace = StepTrace(
        step="ranker",
        inputs={"model": model.describe(), "rows": len(rows), "policy": policy},
        candidates=[{"code": r.code, "p": round(float(p), 4), **{k: round(v, 3) for k, v in r.features.items()}}
                    for r, p in zip(rows, probabilities, strict=True)],
        output_codes=[c.code for c in codes],
        rationale="gradient-boosted ranker over candidate (code, evidence) features",
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return codes, candidates, trace
