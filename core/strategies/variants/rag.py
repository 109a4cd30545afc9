"""Seed variant "rag": hybrid retrieval over the whole code set with the note's sentences as queries, the top
codes shown to the model, which picks the IDs of codes present in the note."""

from __future__ import annotations

from dataclasses import dataclass

from core.llm.prompts import render_prompt
from core.progress import Progress
from core.schema import CodingResult, Mention, Span, StepTrace
from core.strategies.clh.answers import Option, choose_ids
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.results import StepTimer, apply_choices, baseline_result, baseline_score
from core.strategies.clh.validator import complete_to_billable
from core.strategies.variants.common import model_choice_result, variant_runner

RAG_TOP_CODES = 100
QUERY_CHARS = 240  # about one sentence per query
MAX_QUERIES = 40
HITS_PER_QUERY = 20
MAX_PICKS = 15
RRF_C = 60


@dataclass
class CodeHit:
    code: str
    score: float  # reciprocal-rank sum over the queries
    term: str  # the best-ranked index term or description that found it
    start: int  # the query (sentence) that ranked it best
    end: int
    best: float = 0.0


def retrieve_codes(ctx: StepContext, limit: int = RAG_TOP_CODES) -> list[CodeHit]:
    """Codes found by searching with each sentence of the note, fused by reciprocal rank."""
    retriever = ctx.kb.retriever(ctx.language, ctx.splits)
    found: dict[str, CodeHit] = {}
    for start, end in ctx.sentences.chunks(QUERY_CHARS)[:MAX_QUERIES]:
        for hit in retriever.search(ctx.text[start:end], k=HITS_PER_QUERY):
            if not ctx.tabular.exists(hit.code):
                continue
            gain = 1.0 / (RRF_C + hit.rank)
            entry = found.setdefault(hit.code, CodeHit(hit.code, 0.0, hit.text, start, end))
            entry.score += gain
            if gain > entry.best:
                entry.best, entry.term, entry.start, entry.end = gain, hit.text, start, end
    return sorted(found.values(), key=lambda h: -h.score)[:limit]


def hit_mention(ctx: StepContext, hit: CodeHit) -> Mention:
    text = ctx.text[hit.start : hit.end]
    offset = len(text) - len(text.lstrip())
    span_text = text.strip()
    return Mention(span=Span(start=hit.start + offset, end=hit.start + offset + len(span_text), text=span_text),
                   source="retrieval", term=hit.term, codes=[hit.code])


def _chosen_candidates(ctx: StepContext, hits: list[CodeHit], ids: list[int]) -> tuple[list[CodeCandidate], list[str]]:
    learned = [c for m in ctx.baseline.mentions for c in m.codes]
    chosen: list[CodeCandidate] = []
    notes: list[str] = []
    for option_id in ids:
        hit = hits[option_id - 1]
        completion = complete_to_billable(hit.code, ctx.tabular, learned)
        if completion.code is None:
            notes.append(f"{hit.code}: {completion.how}")
            continue
        if any(c.code == completion.code for c in chosen):
            continue
        chosen.append(CodeCandidate(
            completion.code, baseline_score(ctx, completion.code), [hit_mention(ctx, hit)], hit.term, "rag", step="rag",
            rationale=f"retrieved by '{hit.term}', chosen by the model"
            + ("" if completion.how == "billable" else f"; {completion.how}"),
        ))
    return chosen, notes


@variant_runner
def run_rag(ctx: StepContext, notify: Progress) -> CodingResult:
    timer = StepTimer()
    notify("retrieval", "searching the code set with the note's sentences")
    hits = retrieve_codes(ctx)
    options = [Option(i, h.code, ctx.tabular.description(h.code) or h.term) for i, h in enumerate(hits, start=1)]
    trace = StepTrace(step="rag", inputs={"queries": len(ctx.sentences.chunks(QUERY_CHARS)[:MAX_QUERIES]),
                                          "codes_shown": len(hits), "structured_answers": ctx.structured},
                      candidates=[o.line() for o in options])
    if not hits:
        trace.duration_ms = timer.ms()
        return baseline_result(ctx, "rag", "rag", "retrieval found no codes for the note", [trace])
    notify("rag", f"asking the model to choose among {len(hits)} codes")
    prompt = render_prompt("rag", ctx.language, note=ctx.text[:ctx.budget.note], candidates=[o.prompt_dict() for o in options],
                           structured=ctx.structured)
    choice = choose_ids(ctx, prompt, {o.id for o in options}, max_items=MAX_PICKS, label="note")
    apply_choices(trace, [choice], "the deterministic ranking stands")
    chosen, notes = _chosen_candidates(ctx, hits, choice.ids)
    trace.notes += notes
    trace.output_codes = [c.code for c in chosen]
    trace.duration_ms = timer.ms()
    if not chosen:
        reason = choice.fallback or "no chosen code could be made billable"
        return baseline_result(ctx, "rag", "rag", reason, [trace])
    mentions = [*ctx.baseline.mentions, *(m for c in chosen for m in c.mentions)]
    return model_choice_result(ctx, "rag", chosen, [trace], mentions)
