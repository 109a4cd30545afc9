"""The deterministic path: dictionary linking with assertion handling and calibrated thresholds.

It is a strategy on its own (backend ``none``) and the fallback of every LLM step.
"""

from __future__ import annotations

import time

from core.candidates.dictionary import dictionary_mentions
from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular
from core.nlp.analysis import NoteAnalysis
from core.nlp.assertion import NOT_CODED, never_coded
from core.schema import CodeSuggestion, Mention, StepTrace


def link_mentions(
    analysis: NoteAnalysis, linker: DictionaryLinker, learned_terms: int = 0
) -> tuple[list[Mention], StepTrace]:
    """The dictionary step: the analysis's winning matches as mentions (``linker`` already holds the
    ``learned_terms`` coders taught, counted for the trace)."""
    started = time.perf_counter()
    mentions = dictionary_mentions(analysis, linker)
    trace = StepTrace(
        step="dictionary",
        inputs={"language": linker.language, "rules": len(linker.rules), "learned_terms": learned_terms,
                "fitted_on": linker.stats.fitted_on,
                "abbreviations": [f"{e.abbreviation} = {e.expansion}" + (f" ({e.cue})" if e.cue else "")
                                  for e in analysis.expanded.expansions]},
        candidates=[m.model_dump(mode="json") for m in mentions],
        output_codes=sorted({m.codes[0] for m in mentions if m.codes}),
        rationale="exact normalised matches of index, tabular, annotated and learned terms; longest match wins",
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=[f"{m.span.text!r} not coded: {m.assertion} ('{m.assertion_cue}')" for m in mentions
               if m.assertion in NOT_CODED],
    )
    return mentions, trace


def codable(mention: Mention, policy: str) -> bool:
    return not never_coded((mention.assertion,), policy)


def decide(
    mentions: list[Mention],
    tabular: Tabular,
    *,
    code_threshold: float,
    candidate_threshold: float,
    policy: str = "coding",
) -> tuple[list[CodeSuggestion], list[CodeSuggestion], StepTrace]:
    """Group mentions by their best code; confident codes vs candidates for review, best score first."""
    started = time.perf_counter()
    best: dict[str, CodeSuggestion] = {}
    for mention in mentions:
        if not mention.codes:
            continue
        code = mention.codes[0]
        is_codable = codable(mention, policy)
        status = "code" if is_codable and mention.score >= code_threshold else "candidate"
        if mention.score < candidate_threshold:
            continue
        reason = "" if is_codable else f" — {mention.assertion} ('{mention.assertion_cue}'): for review only"
        current = best.get(code)
        if current is None:
            best[code] = CodeSuggestion(
                code=code,
                description=tabular.description(code),
                evidence=[mention.span],
                source=mention.source,
                score=mention.score,
                rationale=f"'{mention.span.text}' matches '{mention.term}' (score {mention.score:.2f}){reason}",
                step="dictionary",
                status=status,
            )
            continue
        current.evidence.append(mention.span)
        if status == "code" and current.status == "candidate":
            current.status = "code"
            current.rationale = f"'{mention.span.text}' matches '{mention.term}' (score {mention.score:.2f})"
        current.score = max(current.score, mention.score) if is_codable else current.score
    ordered = sorted(best.values(), key=lambda s: (-s.score, s.evidence[0].start))
    codes = [s for s in ordered if s.status == "code"]
    candidates = [s for s in ordered if s.status == "candidate"]
    trace = StepTrace(
        step="decide",
        inputs={"code_threshold": code_threshold, "candidate_threshold": candidate_threshold, "policy": policy},
        output_codes=[s.code for s in codes],
        candidates=[s.code for s in candidates],
        rationale="codes at or above the code threshold; lower-scored or not-codable mentions become candidates",
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return codes, candidates, trace
