"""The ranker strategy: dictionary candidates re-scored by the supervised ranker, thresholds tuned out of fold."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular
from core.nlp.analysis import NoteAnalysis
from core.nlp.assertion import never_coded
from core.ranking.ranker import Candidate, RankerModel, extract_candidates, unseen_in_training
from core.schema import CodeSuggestion, StepTrace

# An unseen code is listed whatever the ranker's p, if its term's own statistic (the share of coded notes holding the
# term in which it was coded, smoothed towards its source's prior) is at least this: a term found in many notes and
# never coded there scores near 0.
OPEN_SET_MIN_TERM_SCORE = 0.05


def likely_categories(
    rows: list[Candidate], probabilities: np.ndarray, model: RankerModel, policy: str
) -> dict[str, float]:
    """Codes to code because their category is likely although no code of it reaches its threshold: the summed
    probability of a category's codable candidates (its codes mostly exclude each other: "adenocarcinoma renal
    ... derecha" scores C64.9 0.20 and C64.1 0.19 against 0.34) reaches the threshold of its most probable code,
    which is coded. Code → sum.

    Measured out of fold on CodiEsp train (es): full-code F1 −0.003, category F1 +0.009; the coder sees the right
    category more often, and the rationale says the exact code needs checking.
    """
    by_category: dict[str, list[tuple[float, Candidate]]] = {}
    for row, probability in zip(rows, probabilities, strict=True):
        if never_coded(row.assertions, policy):
            continue
        by_category.setdefault(row.code[:3], []).append((float(probability), row))
    picks: dict[str, float] = {}
    for scored in by_category.values():
        if len(scored) < 2 or any(p >= model.threshold_for(row, policy) for p, row in scored):
            continue
        _, best = max(scored, key=lambda item: item[0])
        total = sum(p for p, _ in scored)
        if total >= model.threshold_for(best, policy):
            picks[best.code] = total
    return picks


@dataclass
class Ranking:
    """The ranker's reading of one note: a row of features per candidate code with its probability, and what became of
    each (codes, candidates for review). The merge reads its scores here; the trace is built from it."""

    rows: list[Candidate]
    probabilities: np.ndarray
    codes: list[CodeSuggestion]
    candidates: list[CodeSuggestion]
    category_picks: dict[str, float]
    model: RankerModel
    policy: str
    duration_ms: float = 0.0

    @property
    def scores(self) -> dict[str, float]:
        """Every code the ranker has a row for, with its probability (4 decimals, as the trace shows it)."""
        return {row.code: round(float(p), 4) for row, p in zip(self.rows, self.probabilities, strict=True)}

    def trace(self) -> StepTrace:
        return StepTrace(
            step="ranker",
            inputs={"model": self.model.describe(), "rows": len(self.rows), "policy": self.policy,
                    "category_picks": {code: round(total, 4) for code, total in self.category_picks.items()}},
            candidates=[{"code": r.code, "p": round(float(p), 4), **{k: round(v, 3) for k, v in r.features.items()}}
                        for r, p in zip(self.rows, self.probabilities, strict=True)],
            output_codes=[c.code for c in self.codes],
            rationale="gradient-boosted ranker over candidate (code, evidence) features",
            duration_ms=self.duration_ms,
        )


def rank_note(
    analysis: NoteAnalysis,
    linker: DictionaryLinker,
    tabular: Tabular,
    model: RankerModel,
    *,
    policy: str,
) -> Ranking:
    """Codes and candidates of the note by the ranker's probabilities (``linker`` holds the learned terms)."""
    started = time.perf_counter()
    rows = extract_candidates(analysis, linker, tabular, model.priors)
    probabilities = model.score(rows)
    category_picks = likely_categories(rows, probabilities, model, policy)
    codes: list[CodeSuggestion] = []
    candidates: list[CodeSuggestion] = []
    for row, probability in sorted(zip(rows, probabilities, strict=True), key=lambda x: -x[1]):
        unseen = unseen_in_training(row)  # the ranker never saw this code: keep the open-set path
        # ... unless its term is one coders keep passing over: "resto" → "rest" → Q50.6, "exploración" → Z00.00
        # were listed in a fifth to two thirds of the dev notes and never right.
        open_set = unseen and row.features["score_max"] >= OPEN_SET_MIN_TERM_SCORE
        if probability < model.candidate_threshold and not open_set and row.code not in category_picks:
            continue
        threshold = model.threshold_for(row, policy)
        not_codable = never_coded(row.assertions, policy)
        status = "code" if (probability >= threshold or row.code in category_picks) and not not_codable else "candidate"
        why = f"ranker p={probability:.2f} (code at ≥{threshold}) from terms {sorted(set(row.terms))[:3]}"
        if row.code in category_picks:
            why += (f"; category {row.code[:3]} is likely (its candidates together p={category_picks[row.code]:.2f}): "
                    "its most probable code is coded, check the exact code")
        if unseen:
            why += "; code unseen in training, scored with the open-set threshold"
        if not_codable:
            why += f"; every mention is {'/'.join(sorted(set(row.assertions)))}: for review only"
        suggestion = CodeSuggestion(
            code=row.code,
            description=tabular.description(row.code),
            evidence=row.evidence,
            source=model.name,
            score=round(float(probability), 4),
            rationale=why,
            step="ranker",
            status=status,
        )
        (codes if status == "code" else candidates).append(suggestion)
    return Ranking(rows, probabilities, codes, candidates, category_picks, model, policy,
                   duration_ms=round((time.perf_counter() - started) * 1000, 2))


def rank_codes(
    analysis: NoteAnalysis,
    linker: DictionaryLinker,
    tabular: Tabular,
    model: RankerModel,
    *,
    policy: str,
) -> tuple[list[CodeSuggestion], list[CodeSuggestion], StepTrace]:
    """The ranker strategy's codes, candidates and trace (:func:`rank_note`, for callers that need no more)."""
    ranking = rank_note(analysis, linker, tabular, model, policy=policy)
    return ranking.codes, ranking.candidates, ranking.trace()
