"""Step 2, navigator: from each evidence term to the index entries (and so the codes) that fit it.

For every codable mention the model sees the mention's dictionary codes and the top hybrid-retrieval hits as
``ID: n | code | index term`` and picks IDs (0 = none). Fallback, per mention: its best dictionary code with
the dictionary score; a mention with no dictionary code gets no code (retrieval alone is too noisy to code
from), but its top hits are kept in the trace for review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.llm.prompts import render_prompt
from core.retrieval.hybrid import RetrievalHit
from core.schema import Mention, StepTrace
from core.strategies.clh.answers import IdChoice, Option, choose_ids, default_answer, run_all
from core.strategies.clh.context import CodeCandidate, StepContext, dictionary_scores, mention_key, merge_by_code
from core.strategies.clh.results import StepTimer, apply_choices

MAX_NAVIGATED = 12  # terms sent to the model per note; later ones take their dictionary code
MAX_DICTIONARY_OPTIONS = 5
MAX_PICKS = 3  # models that reason first; a schema-constrained small model picks one entry
REVIEW_HITS = 3


@dataclass
class Lookup:
    """One distinct term of the note with its options and what became of it."""

    mention: Mention
    same: list[Mention]  # every mention with the same normalised text
    options: list[Option] = field(default_factory=list)
    hits: list[RetrievalHit] = field(default_factory=list)
    choice: IdChoice | None = None
    chosen: list[CodeCandidate] = field(default_factory=list)
    fallback: str | None = None


@dataclass
class NavigationResult:
    candidates: list[CodeCandidate]  # one per code, best evidence merged
    lookups: list[Lookup]
    trace: StepTrace


def group_mentions(mentions: list[Mention]) -> list[Lookup]:
    lookups: dict[str, Lookup] = {}
    for mention in mentions:
        key = mention_key(mention)
        if key in lookups:
            lookups[key].same.append(mention)
        else:
            lookups[key] = Lookup(mention=mention, same=[mention])
    return list(lookups.values())


def build_options(ctx: StepContext, lookup: Lookup) -> list[Option]:
    """Dictionary codes first (with their scores), then retrieval hits for codes not already listed."""
    tabular = ctx.tabular
    mention = lookup.mention
    scores = dictionary_scores(ctx, mention) if mention.codes else {}
    options: list[Option] = []
    for code in mention.codes[:MAX_DICTIONARY_OPTIONS]:
        if tabular.exists(code):
            term = tabular.description(code) or mention.term
            options.append(Option(len(options) + 1, code, term, "dictionary", scores.get(code, 0.0)))
    listed = {o.code for o in options}
    for hit in lookup.hits:
        if hit.code in listed or not tabular.exists(hit.code):
            continue
        listed.add(hit.code)
        score = scores.get(hit.code, ctx.llm_only_score)
        options.append(Option(len(options) + 1, hit.code, hit.text, "retrieval", score))
    return options


def _ask(ctx: StepContext, lookup: Lookup) -> Lookup:
    if not lookup.options:
        lookup.fallback = "no index entry or dictionary code to choose from"
        return lookup
    mention = lookup.mention
    default = default_ids(lookup)
    prompt = render_prompt(
        "navigator", ctx.language, snippet=mention.span.text,
        context=ctx.sentences.around(mention.span.start, mention.span.end),
        candidates=[o.prompt_dict() for o in lookup.options], structured=ctx.structured,
        default=default_answer(default, ctx.structured) if default else "",
    )
    valid = {o.id for o in lookup.options}
    picks = 1 if ctx.structured else MAX_PICKS
    lookup.choice = choose_ids(ctx, prompt, valid, max_items=picks, label=mention.span.text[:60], default=default)
    by_id = {o.id: o for o in lookup.options}
    if lookup.choice.fallback:
        lookup.fallback = lookup.choice.fallback
        return lookup
    for option_id in lookup.choice.ids:
        option = by_id[option_id]
        lookup.chosen.append(CodeCandidate(
            code=option.code, score=option.score, mentions=list(lookup.same), term=option.term,
            origin=f"navigator:{option.origin}", step="navigator",
            rationale=f"'{mention.span.text}' → index entry '{option.term}' ({option.origin}) chosen by the model",
        ))
    return lookup


def default_ids(lookup: Lookup) -> list[int]:
    """The option the deterministic lookup takes: the mention's best dictionary code (none without one)."""
    codes = lookup.mention.codes[:1]
    return [o.id for o in lookup.options if o.code in codes and o.origin == "dictionary"][:1]


def dictionary_fallback(lookup: Lookup, reason: str) -> None:
    """The mention's best dictionary code, as the deterministic path would code it."""
    mention = lookup.mention
    lookup.fallback = lookup.fallback or reason
    if not mention.codes:
        return
    lookup.chosen = [CodeCandidate(
        code=mention.codes[0], score=mention.score, mentions=list(lookup.same), term=mention.term,
        origin=mention.source, step="navigator",
        rationale=f"'{mention.span.text}' matches '{mention.term}' (score {mention.score:.2f}); {lookup.fallback}",
    )]


def navigate(ctx: StepContext, mentions: list[Mention]) -> NavigationResult:
    timer = StepTimer()
    lookups = group_mentions(mentions)
    asked, capped = lookups[:MAX_NAVIGATED], lookups[MAX_NAVIGATED:]
    retriever = ctx.kb.retriever(ctx.language, ctx.splits) if asked else None
    for lookup in asked:
        lookup.hits = retriever.search(lookup.mention.span.text, k=ctx.settings.retrieval_k) if retriever else []
        lookup.options = build_options(ctx, lookup)
    run_all(lambda lookup: _ask(ctx, lookup), asked, ctx.backend.supports_concurrency)
    for lookup in asked:
        if not lookup.chosen:
            dictionary_fallback(lookup, lookup.fallback or "no choice")
    for lookup in capped:
        dictionary_fallback(lookup, f"not sent to the model (more than {MAX_NAVIGATED} terms in the note)")
    candidates = merge_by_code(c for lookup in lookups for c in lookup.chosen)
    trace = _trace(ctx, asked, capped, candidates)
    trace.duration_ms = timer.ms()
    return NavigationResult(candidates, lookups, trace)


def _lookup_record(lookup: Lookup) -> dict[str, Any]:
    record: dict[str, Any] = {
        "snippet": lookup.mention.span.text, "start": lookup.mention.span.start, "end": lookup.mention.span.end,
        "options": [o.line() for o in lookup.options], "chosen": [c.code for c in lookup.chosen],
        "fallback": lookup.fallback,
    }
    if not lookup.chosen and lookup.hits:
        record["review_hits"] = [f"{h.code} | {h.text}" for h in lookup.hits[:REVIEW_HITS]]
    return record


def _trace(ctx: StepContext, asked: list[Lookup], capped: list[Lookup], candidates: list[CodeCandidate]) -> StepTrace:
    trace = StepTrace(
        step="navigator",
        inputs={"terms": len(asked) + len(capped), "terms_sent": len(asked), "retrieval_k": ctx.settings.retrieval_k,
                "structured_answers": ctx.structured},
        candidates=[_lookup_record(lookup) for lookup in [*asked, *capped]],
        output_codes=[c.code for c in candidates],
    )
    choices = [lookup.choice for lookup in asked if lookup.choice is not None]
    apply_choices(trace, choices, "the dictionary code of those terms stands")
    if capped:
        trace.notes.append(f"{len(capped)} term(s) beyond the first {MAX_NAVIGATED} took their dictionary code")
    unresolved = [lookup.mention.span.text for lookup in asked if not lookup.chosen]
    if unresolved:
        trace.notes.append("no code for: " + "; ".join(repr(t) for t in unresolved[:12])
                           + " (top index hits kept in the candidates for review)")
    return trace
