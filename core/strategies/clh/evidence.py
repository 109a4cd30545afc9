"""Step 1, evidence: the terms to code, located in the note to character offsets.

The model lists verbatim lead terms per chunk of the note (JSON ``{"snippets": [...]}``); each is found in the
note (exact, case-insensitive, then fuzzy), and merged with the dictionary linker's mentions. A snippet that
cannot be found is dropped (the model may paraphrase or invent). Negated, family and hypothetical mentions stay
in the trace with the reason but are not passed on as codable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from core.llm.calls import CallOutcome, ParseError
from core.llm.prompts import RenderedPrompt, render_prompt
from core.nlp.textnorm import tokenize
from core.schema import Mention, Span, StepTrace
from core.strategies.clh.answers import call_json, load_json_object, run_all
from core.strategies.clh.context import StepContext
from core.strategies.clh.results import StepTimer, usage
from core.strategies.deterministic import codable

MAX_CHUNKS = 4  # later text is covered by the dictionary only (bounded time on the embedded model)
MAX_SNIPPETS = 12
SNIPPET_MAX_CHARS = 80
EVIDENCE_MAX_TOKENS = 256
FUZZY_MIN_SCORE = 85
SNIPPETS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # A phrase starts with a word, not "..." (a small model copies the format example otherwise), and holds no
        # quote or backslash (the grammar then always closes the JSON string).
        "snippets": {"type": "array", "maxItems": MAX_SNIPPETS,
                     "items": {"type": "string", "pattern": f'^[^ .…"\\\\][^"\\\\]{{2,{SNIPPET_MAX_CHARS - 1}}}$'}},
    },
    "required": ["snippets"],
}


@dataclass
class EvidenceResult:
    mentions: list[Mention]  # every mention, note order (dictionary and model)
    codable: list[Mention]  # the ones passed on to navigation
    trace: StepTrace
    dropped: list[str] = field(default_factory=list)  # snippets not found in the note


def parse_snippets(raw: str) -> list[str]:
    """Distinct snippets of reasonable length (a whole copied paragraph is not a lead term)."""
    data = load_json_object(raw)
    values = data.get("snippets")
    if not isinstance(values, list):
        raise ParseError('expected {"snippets": [...]}')
    snippets: list[str] = []
    for value in values:
        text = " ".join(value.split()) if isinstance(value, str) else ""
        if text and len(text) <= 2 * SNIPPET_MAX_CHARS and text not in snippets:
            snippets.append(text)
    return snippets[:MAX_SNIPPETS]


def has_content_words(text: str, language: str) -> bool:
    return any(not token.is_stop and len(token.norm) > 2 for token in tokenize(text, language))


def locate_snippet(snippet: str, text: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """Offsets of ``snippet`` in ``text[start:end]``: exact (case- and spacing-insensitive), else fuzzy ≥ 85."""
    end = len(text) if end is None else end
    words = snippet.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    match = pattern.search(text, start, end) or pattern.search(text)
    if match:
        return match.start(), match.end()
    window = text[start:end]
    if len(snippet) < 4 or len(snippet) > len(window):
        return None
    alignment = fuzz.partial_ratio_alignment(snippet.lower(), window.lower(), score_cutoff=FUZZY_MIN_SCORE)
    if alignment is None:
        return None
    left, right = start + alignment.dest_start, start + alignment.dest_end
    while left < right and text[left].isspace():
        left += 1
    while right > left and text[right - 1].isspace():
        right -= 1
    while left > 0 and text[left - 1].isalnum() and text[left].isalnum():  # snap to whole words
        left -= 1
    while right < len(text) and text[right].isalnum() and text[right - 1].isalnum():
        right += 1
    return (left, right) if right > left else None


@dataclass
class _ChunkAnswer:
    start: int
    end: int
    prompt: RenderedPrompt
    outcome: CallOutcome[list[str]]


def _ask_chunk(ctx: StepContext, bounds: tuple[int, int]) -> _ChunkAnswer:
    start, end = bounds
    prompt = render_prompt("evidence", ctx.language, note=ctx.text[start:end], max_snippets=MAX_SNIPPETS)
    outcome = call_json(ctx, prompt, parse_snippets, SNIPPETS_SCHEMA, EVIDENCE_MAX_TOKENS)
    return _ChunkAnswer(start, end, prompt, outcome)


def _model_mentions(ctx: StepContext, answers: list[_ChunkAnswer], dictionary: list[Mention]) -> tuple[
    list[Mention], list[str], int
]:
    """Located model snippets not already covered by a dictionary mention; dropped snippets; confirmations."""
    taken = [(m.span.start, m.span.end) for m in dictionary]
    found: list[Mention] = []
    dropped: list[str] = []
    confirmed = 0
    for answer in answers:
        for snippet in answer.outcome.value or []:
            place = locate_snippet(snippet, ctx.text, answer.start, answer.end)
            if place is not None and not has_content_words(ctx.text[place[0] : place[1]], ctx.language):
                place = None
            if place is None:
                dropped.append(snippet)
                continue
            start, end = place
            if any(start < e and s < end for s, e in taken):
                confirmed += 1
                continue
            taken.append((start, end))
            assertion, cue = ctx.analysis.assertion_of(start, end)
            found.append(Mention(span=Span(start=start, end=end, text=ctx.text[start:end]), source="llm",
                                 term=snippet, assertion=assertion, assertion_cue=cue))
    return found, dropped, confirmed


def find_evidence(ctx: StepContext) -> EvidenceResult:
    timer = StepTimer()
    dictionary = ctx.baseline.mentions
    chunks = ctx.sentences.chunks(ctx.budget.evidence_chunk)  # one chunk plus the instructions fit the context
    asked = chunks[:MAX_CHUNKS]
    answers = run_all(lambda bounds: _ask_chunk(ctx, bounds), asked, ctx.backend.supports_concurrency)
    model_mentions, dropped, confirmed = _model_mentions(ctx, answers, dictionary)
    mentions = sorted([*dictionary, *model_mentions], key=lambda m: (m.span.start, m.span.end))
    policy = ctx.settings.assertion_policy
    codable_mentions = [m for m in mentions if codable(m, policy)]
    trace = _trace(ctx, answers, mentions, dropped, confirmed, len(chunks))
    trace.notes += [f"{m.span.text!r} not coded: {m.assertion} ('{m.assertion_cue}')"
                    for m in mentions if not codable(m, policy)]
    trace.output_codes = sorted({m.codes[0] for m in codable_mentions if m.codes})
    trace.duration_ms = timer.ms()
    return EvidenceResult(mentions, codable_mentions, trace, dropped)


def _trace(ctx: StepContext, answers: list[_ChunkAnswer], mentions: list[Mention], dropped: list[str],
           confirmed: int, chunk_count: int) -> StepTrace:
    model_count = sum(1 for m in mentions if m.source == "llm")
    trace = StepTrace(
        step="evidence",
        inputs={"chars": len(ctx.text), "chunks": chunk_count, "chunks_asked": len(answers),
                "dictionary_mentions": len(ctx.baseline.mentions), "max_snippets": MAX_SNIPPETS,
                "dictionary": ctx.baseline.link_trace.inputs},
        candidates=[{"text": m.span.text, "start": m.span.start, "end": m.span.end, "source": m.source,
                     "assertion": m.assertion, "cue": m.assertion_cue, "codes": m.codes[:3], "score": m.score}
                    for m in mentions],
        parsed={"snippets": [s for a in answers for s in (a.outcome.value or [])], "new_mentions": model_count,
                "confirmed_dictionary_mentions": confirmed, "not_found": dropped},
        rationale="model snippets located in the note (exact, then fuzzy ≥ 85) merged with dictionary matches",
    )
    if answers:
        trace.prompt_template, trace.prompt_version = answers[0].prompt.template, answers[0].prompt.version
        trace.raw_answer = "\n---\n".join(f"[chars {a.start}-{a.end}] {a.outcome.raw_answer}" for a in answers)
        trace.inputs.update(usage(a.outcome for a in answers))
    if dropped:
        trace.notes.append(f"{len(dropped)} snippet(s) not found in the note, dropped: "
                           + "; ".join(repr(s) for s in dropped[:12]))
    if chunk_count > len(answers):
        trace.notes.append(f"only the first {len(answers)} of {chunk_count} chunks were read by the model; "
                           "the rest is covered by the dictionary")
    failed = [a for a in answers if not a.outcome.ok]
    if failed:
        trace.fallback = (f"{len(failed)} of {len(answers)} chunk(s): {failed[0].outcome.fallback_reason} — "
                          "dictionary mentions used there")
    elif answers and model_count == 0 and confirmed == 0:
        trace.fallback = "no snippet from the model was found in the note — dictionary mentions only"
    return trace
