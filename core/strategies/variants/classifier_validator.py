"""Seed variant "classifier-validator": the model proposes codes from the note alone (JSON), codes outside the
official list or the note's candidate set are dropped, and each remaining code is checked by the model against
its official description and the note (yes / no).

The candidate set is the categories the dictionary and retrieval find for the note: a code the model writes
from nowhere (or copies from an instruction hidden in the note) is not in it. A code printed literally in the
note is accepted only when the dictionary itself linked it. Expect few survivors with the embedded model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.kb.tabular import CODE_RE, normalize_code
from core.llm.calls import CallOutcome, ParseError, call_with_retries, extract_rationale
from core.llm.prompts import render_prompt, template_info
from core.progress import Progress
from core.schema import CodingResult, StepTrace
from core.strategies.clh.answers import call_json, load_json_object, run_all
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.results import StepTimer, baseline_result
from core.strategies.clh.validator import complete_to_billable
from core.strategies.variants.common import model_choice_result, note_wide_candidate, variant_runner
from core.strategies.variants.rag import retrieve_codes

MAX_PROPOSED = 15
MAX_VALIDATED = 10
CLASSIFIER_MAX_TOKENS = 160
VERDICT_MAX_TOKENS_JSON = 16
VERDICT_MAX_TOKENS_TAGS = 200
CODES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"codes": {"type": "array", "maxItems": MAX_PROPOSED,
                             "items": {"type": "string", "pattern": "^[A-Z][0-9][0-9A-Z]([.][0-9A-Z]{1,4})?$"}}},
    "required": ["codes"],
}
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}}, "required": ["answer"],
}
_YES = {"yes", "si", "sí", "true"}
_NO = {"no", "false"}


def parse_codes(raw: str) -> list[str]:
    data = load_json_object(raw)
    values = data.get("codes")
    if not isinstance(values, list):
        raise ParseError('expected {"codes": [...]}')
    codes = [normalize_code(v) for v in values if isinstance(v, str) and v.strip()]
    return list(dict.fromkeys(codes))[:MAX_PROPOSED]


def parse_verdict(raw: str) -> bool:
    text = raw.strip()
    if text.startswith("{"):
        word = str(load_json_object(text).get("answer", "")).strip().lower()
    else:
        match = re.findall(r"<answer>\s*(.*?)\s*(?:</answer>|$)", text, re.IGNORECASE | re.DOTALL)
        word = match[-1].strip().strip(".").lower() if match else ""
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ParseError(f"expected yes or no, got {raw.strip()[:80]!r}")


@dataclass
class Screening:
    kept: list[tuple[str, str]] = field(default_factory=list)  # (billable code, how)
    dropped: list[str] = field(default_factory=list)  # reasons


def candidate_categories(ctx: StepContext) -> set[str]:
    codes = [c for m in ctx.baseline.mentions for c in m.codes] + [h.code for h in retrieve_codes(ctx)]
    return {ctx.tabular.category(c) for c in codes}


def screen(ctx: StepContext, proposed: list[str]) -> Screening:
    """Drop codes not in the tabular list, outside the note's candidate set, or copied from the note's text."""
    allowed = candidate_categories(ctx)
    dictionary_codes = {c for m in ctx.baseline.mentions for c in m.codes}
    written = {normalize_code(m.group(1)) for m in CODE_RE.finditer(ctx.text.upper())}
    learned = [c for m in ctx.baseline.mentions for c in m.codes]
    result = Screening()
    for code in proposed:
        if not ctx.tabular.exists(code):
            result.dropped.append(f"{code}: not in the tabular list")
        elif code in written and code not in dictionary_codes:
            result.dropped.append(f"{code}: written in the note itself and not linked by the dictionary")
        elif ctx.tabular.category(code) not in allowed:
            result.dropped.append(f"{code}: outside the codes the dictionary and retrieval found for this note")
        else:
            completion = complete_to_billable(code, ctx.tabular, learned)
            if completion.code is None:
                result.dropped.append(f"{code}: {completion.how}")
            elif all(completion.code != k for k, _ in result.kept):
                result.kept.append((completion.code, completion.how))
    return result


def _verdict(ctx: StepContext, code: str) -> CallOutcome[bool]:
    prompt = render_prompt("validate_code", ctx.language, note=ctx.text[:ctx.budget.note], code=code,
                           description=ctx.tabular.description(code), structured=ctx.structured)
    if ctx.structured:
        return call_json(ctx, prompt, parse_verdict, VERDICT_SCHEMA, VERDICT_MAX_TOKENS_JSON)
    return call_with_retries(ctx.backend, prompt.text, parse_verdict, retries=ctx.settings.retries,
                             max_tokens=min(VERDICT_MAX_TOKENS_TAGS, ctx.settings.max_tokens), stop=["</answer>"])


@variant_runner
def run_classifier_validator(ctx: StepContext, notify: Progress) -> CodingResult:
    timer = StepTimer()
    notify("classifier", "asking the model for codes")
    prompt = render_prompt("classifier", ctx.language, note=ctx.text[:ctx.budget.note], max_codes=MAX_PROPOSED)
    proposal = call_json(ctx, prompt, parse_codes, CODES_SCHEMA, CLASSIFIER_MAX_TOKENS)
    screening = screen(ctx, proposal.value or [])
    classifier = StepTrace(step="classifier", prompt_template=prompt.template, prompt_version=prompt.version,
                           inputs={"note_chars": min(len(ctx.text), ctx.budget.note)}, raw_answer=proposal.raw_answer,
                           parsed=proposal.value, output_codes=[c for c, _ in screening.kept],
                           notes=screening.dropped, fallback=proposal.fallback_reason,
                           duration_ms=timer.ms())
    if not screening.kept:
        reason = proposal.fallback_reason or "no proposed code passed the checks"
        return baseline_result(ctx, "classifier-validator", "classifier", reason, [classifier])
    notify("validate-code", f"checking {min(len(screening.kept), MAX_VALIDATED)} code(s) against the note")
    validation, survivors = _validate(ctx, screening.kept[:MAX_VALIDATED])
    if not survivors:
        return baseline_result(ctx, "classifier-validator", "validate-code", "no proposed code was confirmed",
                               [classifier, validation])
    return model_choice_result(ctx, "classifier-validator", survivors, [classifier, validation])


def _validate(ctx: StepContext, kept: list[tuple[str, str]]) -> tuple[StepTrace, list[CodeCandidate]]:
    timer = StepTimer()
    outcomes = run_all(lambda item: _verdict(ctx, item[0]), kept, ctx.backend.supports_concurrency)
    survivors: list[CodeCandidate] = []
    verdicts: dict[str, str] = {}
    for (code, how), outcome in zip(kept, outcomes, strict=True):
        verdicts[code] = "yes" if outcome.value else ("no" if outcome.ok else f"no answer ({outcome.fallback_reason})")
        if outcome.value:
            why = "proposed by the model and confirmed against its description" + (
                "" if how == "billable" else f"; {how}")
            survivors.append(note_wide_candidate(ctx, code, "classifier-validator", "validate-code", why))
    prompt = template_info("validate_code", ctx.language)
    failed = [code for code, v in verdicts.items() if v.startswith("no answer")]
    trace = StepTrace(
        step="validate-code", prompt_template=prompt.template, prompt_version=prompt.version,
        inputs={"codes": len(kept)}, candidates=[code for code, _ in kept],
        raw_answer="\n---\n".join(f"[{code}] {o.raw_answer}" for (code, _), o in zip(kept, outcomes, strict=True)),
        parsed=verdicts, output_codes=[c.code for c in survivors], duration_ms=timer.ms(),
        rationale=" | ".join(extract_rationale(o.raw_answer or "") for o in outcomes if o.raw_answer)[:1000]
        if not ctx.structured else "",
        fallback=f"no usable verdict for {', '.join(failed)}: left out" if failed else None,
    )
    return trace, survivors
