"""Traces and results of the LLM steps: timing and usage, the deterministic backstop, the prompt-injection guard, and
the strategy's :class:`~core.schema.CodingResult`."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from core.kb.tabular import normalize_code
from core.llm.calls import CallOutcome
from core.schema import CodeSuggestion, CodingResult, Mention, StepTrace
from core.strategies.clh.answers import IdChoice
from core.strategies.clh.context import Baseline, CodeCandidate, StepContext

if TYPE_CHECKING:
    pass


# -- traces ------------------------------------------------------------------------------------------------------
class StepTimer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)


def apply_choices(trace: StepTrace, choices: list[IdChoice], what: str) -> None:
    """Fill the LLM fields of a trace from its calls; ``fallback`` summarises the calls that fell back."""
    if not choices:
        return
    trace.prompt_template = choices[0].prompt.template
    trace.prompt_version = choices[0].prompt.version
    trace.inputs.update(usage([c.outcome for c in choices]))
    trace.raw_answer = "\n---\n".join(f"[{c.label}] {c.outcome.raw_answer}" for c in choices) or None
    trace.parsed = [c.record() for c in choices]
    trace.rationale = " | ".join(f"{c.label}: {c.rationale}" for c in choices if c.rationale)[:2000]
    answered = [c for c in choices if not c.fallback]
    if answered:
        changed = [c for c in answered if c.changed]
        trace.notes.append(f"the model kept the deterministic answer in {len(answered) - len(changed)} of "
                           f"{len(answered)} answered call(s)" + ("; changed: " + "; ".join(
                               f"{c.label}: {c.default or '-'} → {c.ids}" for c in changed[:8]) if changed else ""))
    failed = [c for c in choices if c.fallback]
    if failed:
        reasons = "; ".join(dict.fromkeys(str(c.fallback) for c in failed))
        scope = "the call" if len(choices) == 1 else f"{len(failed)} of {len(choices)} calls"
        trace.fallback = f"{scope}: {reasons[:400]} — {what}"


def usage(outcomes: Iterable[CallOutcome[Any]]) -> dict[str, int]:
    """LLM calls (attempts) and tokens spent, for the trace."""
    attempts = [a for outcome in outcomes for a in outcome.attempts]
    return {"llm_attempts": len(attempts),
            "prompt_tokens": sum(a.prompt_tokens or 0 for a in attempts),
            "completion_tokens": sum(a.completion_tokens or 0 for a in attempts)}


# -- results -----------------------------------------------------------------------------------------------------
def with_backstop(
    codes: list[CodeSuggestion], candidates: list[CodeSuggestion], baseline: Baseline
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Append every code of the deterministic ranking the LLM steps did not keep, as candidates for review.

    The model can reorder and confirm, and move codes between "code" and "candidate", but never make a code the
    dictionary found disappear from the ranked list.
    """
    present = {s.code for s in [*codes, *candidates]}
    extra = []
    for suggestion in [*baseline.codes, *baseline.candidates]:
        if suggestion.code in present:
            continue
        present.add(suggestion.code)
        copy = suggestion.model_copy(deep=True)
        copy.status = "candidate"
        if suggestion.status == "code":
            copy.rationale = f"{suggestion.rationale} — dictionary code not retained by the LLM steps: for review"
        extra.append(copy)
    return codes, [*candidates, *extra]


_WRITTEN_CODE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?)\b")


def codes_written_in(text: str) -> set[str]:
    """ICD-10-CM-shaped codes printed in the note itself ("Z99.89", "z9989")."""
    return {normalize_code(m.group(1)) for m in _WRITTEN_CODE.finditer(text.upper())}


def drop_injected(
    ctx: StepContext, suggestions: list[CodeSuggestion]
) -> tuple[list[CodeSuggestion], list[str]]:
    """Prompt-injection guard: a code printed in the note is data, never an instruction. The LLM steps may
    output it only when the dictionary linked the note's words to it independently."""
    written = codes_written_in(ctx.text)
    if not written:
        return suggestions, []
    linked = {s.code for s in [*ctx.baseline.codes, *ctx.baseline.candidates]}
    kept = [s for s in suggestions if s.code not in written or s.code in linked]
    removed = [s.code for s in suggestions if s not in kept]
    return kept, removed


def build_result(
    ctx: StepContext, strategy: str, codes: list[CodeSuggestion], candidates: list[CodeSuggestion],
    mentions: list[Mention], trace: list[StepTrace],
) -> CodingResult:
    codes, removed_codes = drop_injected(ctx, codes)
    candidates, removed_candidates = drop_injected(ctx, candidates)
    removed = list(dict.fromkeys(removed_codes + removed_candidates))
    if removed:
        mentions = [m.model_copy(update={"codes": [c for c in m.codes if c not in removed]}) for m in mentions]
        mentions = [m for m in mentions if m.codes or m.source != "retrieval"]
        if trace:
            trace[-1].notes.append(f"removed {', '.join(removed)}: printed in the note itself and not linked by the "
                                   "dictionary (note text is data, not instructions)")
    return CodingResult(
        note_sha256=hashlib.sha256(ctx.text.encode()).hexdigest(),
        language=ctx.language,
        strategy=strategy,
        backend=ctx.settings.backend,
        model=ctx.backend.model,
        codes=codes,
        candidates=candidates,
        mentions=mentions,
        trace=trace,
    )


def baseline_result(
    ctx: StepContext, strategy: str, step: str, reason: str, extra: Sequence[StepTrace] = ()
) -> CodingResult:
    """The deterministic result, labelled with the strategy that fell back to it and why."""
    base = ctx.baseline
    decide_trace = base.decide_trace.model_copy(deep=True)
    decide_trace.fallback = reason
    decide_trace.notes.append(f"{step}: the deterministic ranking stands")
    return build_result(ctx, strategy, list(base.codes), list(base.candidates), list(base.mentions),
                        [*extra, base.link_trace, decide_trace])


def mentions_supporting(ctx: StepContext, code: str) -> list[Mention]:
    """Codable dictionary mentions that link to ``code``'s category: the evidence for a code chosen note-wide."""
    category = ctx.tabular.category(code)
    policy = ctx.settings.assertion_policy
    found = []
    for mention in ctx.baseline.mentions:
        if mention.assertion in ("negated", "family", "hypothetical") and policy != "codiesp":
            continue
        if any(ctx.tabular.category(c) == category for c in mention.codes):
            found.append(mention)
    return found


def _split_by_evidence(
    ctx: StepContext, chosen: Sequence[CodeCandidate]
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Codes the model chose note-wide are final only when the note's evidence backs them: the dictionary scored that
    very code at or above the code threshold, or a codable dictionary mention links to its category (the model then
    chose the specificity). A code only the model saw stays a candidate for the coder to confirm."""
    codes: list[CodeSuggestion] = []
    candidates: list[CodeSuggestion] = []
    for candidate in chosen:
        if candidate.score >= ctx.settings.code_threshold or mentions_supporting(ctx, candidate.code):
            codes.append(candidate.suggestion(ctx.tabular))
        else:
            suggestion = candidate.suggestion(ctx.tabular, status="candidate")
            suggestion.rationale = f"{suggestion.rationale} — no dictionary evidence in the note: for review"
            candidates.append(suggestion)
    return codes, candidates


def _keep_dictionary_codes(ctx: StepContext, codes: list[CodeSuggestion]) -> list[CodeSuggestion]:
    """The seed variants add to the deterministic result and make it more specific; they do not drop it. A dictionary
    code stays a code unless the model chose another code of its category (the model's choice then replaces it): a
    small model's silence about a code is not a rejection."""
    chosen = {s.code for s in codes}
    categories = {ctx.tabular.category(s.code) for s in codes}
    kept = list(codes)
    for suggestion in ctx.baseline.codes:
        if suggestion.code in chosen or ctx.tabular.category(suggestion.code) in categories:
            continue
        copy = suggestion.model_copy(deep=True)
        copy.rationale = f"{suggestion.rationale} — kept from the dictionary: the model chose no code of its category"
        kept.append(copy)
    return kept


def settle_model_choices(
    ctx: StepContext, chosen: Sequence[CodeCandidate]
) -> tuple[list[CodeSuggestion], list[CodeSuggestion]]:
    """Codes and candidates of a seed variant from the codes its model chose: evidence-backed choices are codes, the
    dictionary's codes the model left alone stay codes, and the rest of the deterministic ranking follows as
    candidates."""
    codes, candidates = _split_by_evidence(ctx, chosen)
    return with_backstop(_keep_dictionary_codes(ctx, codes), candidates, ctx.baseline)


def baseline_score(ctx: StepContext, code: str) -> float:
    """The dictionary score of ``code`` for this note, or the model-only score when the dictionary lacks it."""
    for suggestion in [*ctx.baseline.codes, *ctx.baseline.candidates]:
        if suggestion.code == code:
            return suggestion.score
    return ctx.llm_only_score
