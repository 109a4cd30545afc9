"""Seed variant "dictionary-llm": unambiguous dictionary links (one code, score ≥ code_threshold) are final;
the model codes the remaining linked terms by choosing among their candidate codes by ID."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.llm.prompts import render_prompt
from core.progress import Progress
from core.schema import CodeSuggestion, CodingResult, Mention, StepTrace
from core.strategies.clh.answers import IdChoice, Option, choose_ids
from core.strategies.clh.context import CodeCandidate, StepContext, dictionary_scores, mention_key
from core.strategies.clh.results import StepTimer, apply_choices, baseline_result, build_result, with_backstop
from core.strategies.clh.validator import complete_to_billable
from core.strategies.deterministic import codable
from core.strategies.variants.common import variant_runner

MAX_TERMS = 12
TERMS_PER_PROMPT = 6
MAX_OPTIONS = 5


@dataclass
class Term:
    mention: Mention
    same: list[Mention]
    options: list[Option] = field(default_factory=list)


def alternatives(mention: Mention) -> list[str]:
    """Codes other than the best one that are real alternatives (not merely its ancestors)."""
    best = mention.codes[0]
    return [c for c in mention.codes[1:] if not best.startswith(c)]


def is_unambiguous(mention: Mention, code_threshold: float) -> bool:
    return bool(mention.codes) and not alternatives(mention) and mention.score >= code_threshold


def split_terms(ctx: StepContext) -> tuple[list[Mention], list[Term]]:
    """(unambiguous codable mentions, ambiguous codable terms grouped by text)."""
    settled: list[Mention] = []
    terms: dict[str, Term] = {}
    for mention in ctx.baseline.mentions:
        if not mention.codes or not codable(mention, ctx.settings.assertion_policy):
            continue
        if is_unambiguous(mention, ctx.settings.code_threshold):
            settled.append(mention)
        elif mention.score >= ctx.settings.candidate_threshold:
            key = mention_key(mention)
            terms.setdefault(key, Term(mention, []))
            terms[key].same.append(mention)
    return settled, list(terms.values())


def _ask(ctx: StepContext, batch: list[Term], label: str) -> IdChoice:
    next_id = 1
    entries = []
    for index, term in enumerate(batch):
        scores = dictionary_scores(ctx, term.mention)
        for code in term.mention.codes[:MAX_OPTIONS]:
            term.options.append(Option(next_id, code, ctx.tabular.description(code), "dictionary",
                                       scores.get(code, 0.0), owner=index))
            next_id += 1
        mention = term.mention
        entries.append({"snippet": mention.span.text, "options": [o.prompt_dict() for o in term.options],
                        "context": ctx.sentences.around(mention.span.start, mention.span.end)})
    prompt = render_prompt("dictionary_llm", ctx.language, mentions=entries, structured=ctx.structured)
    valid = {o.id for term in batch for o in term.options}
    return choose_ids(ctx, prompt, valid, max_items=len(batch) + 2, label=label)


def _picked(ctx: StepContext, batch: list[Term], choice: IdChoice) -> list[CodeCandidate]:
    """The model's first pick per term; a term it left out keeps its best dictionary code (as ``decide`` would)."""
    by_id = {o.id: (index, o) for index, term in enumerate(batch) for o in term.options}
    picks: dict[int, Option] = {}
    for option_id in [] if choice.fallback else choice.ids:
        index, option = by_id[option_id]
        picks.setdefault(index, option)
    chosen: list[CodeCandidate] = []
    for index, term in enumerate(batch):
        mention = term.mention
        option = picks.get(index)
        if option is None:
            if mention.score >= ctx.settings.code_threshold:
                chosen.append(CodeCandidate(mention.codes[0], mention.score, list(term.same), mention.term,
                                            mention.source, f"'{mention.span.text}' matches '{mention.term}' "
                                            f"(score {mention.score:.2f}); the model chose none of its codes",
                                            "dictionary"))
            continue
        completion = complete_to_billable(option.code, ctx.tabular, mention.codes)
        if completion.code is None:
            continue
        why = f"'{mention.span.text}' has several dictionary codes; the model chose {option.code}"
        if completion.how != "billable":
            why += f"; {completion.how}"
        chosen.append(CodeCandidate(completion.code, mention.score, list(term.same), mention.term, "dictionary-llm",
                                    why, "dictionary-llm"))
    return chosen


@variant_runner
def run_dictionary_llm(ctx: StepContext, notify: Progress) -> CodingResult:
    timer = StepTimer()
    notify("dictionary", "linking known terms")
    settled, terms = split_terms(ctx)
    trace = StepTrace(step="dictionary-llm", inputs={"unambiguous": len(settled), "ambiguous_terms": len(terms),
                                                     "structured_answers": ctx.structured})
    batches = [terms[i : i + TERMS_PER_PROMPT] for i in range(0, min(len(terms), MAX_TERMS), TERMS_PER_PROMPT)]
    notify("dictionary-llm", f"asking the model about {len(terms)} ambiguous term(s)")
    choices = [_ask(ctx, batch, f"terms {i * TERMS_PER_PROMPT + 1}-{i * TERMS_PER_PROMPT + len(batch)}")
               for i, batch in enumerate(batches)]
    chosen = [c for batch, choice in zip(batches, choices, strict=True) for c in _picked(ctx, batch, choice)]
    apply_choices(trace, choices, "the dictionary's best code stands for those terms")
    trace.candidates = [o.line() for batch in batches for term in batch for o in term.options]
    trace.output_codes = [c.code for c in chosen]
    trace.duration_ms = timer.ms()
    if batches and all(choice.fallback for choice in choices):
        return baseline_result(ctx, "dictionary-llm", "dictionary-llm", trace.fallback or "no usable choice",
                               [trace])
    codes = _merge(ctx, settled, chosen)
    codes, candidates = with_backstop(codes, [], ctx.baseline)
    return build_result(ctx, "dictionary-llm", codes, candidates, ctx.baseline.mentions,
                        [ctx.baseline.link_trace, trace])


def _merge(ctx: StepContext, settled: list[Mention], chosen: list[CodeCandidate]) -> list[CodeSuggestion]:
    """Unambiguous links (completed to billable where needed) and the model's choices, best score first."""
    learned = [c for m in settled for c in m.codes]
    items = [*chosen]
    for mention in settled:
        completion = complete_to_billable(mention.codes[0], ctx.tabular, learned)
        if completion.code is None:
            continue  # not billable and not completable: the backstop lists it for review
        code = completion.code
        why = f"'{mention.span.text}' matches '{mention.term}' (score {mention.score:.2f}), a single code"
        items.append(CodeCandidate(code, mention.score, [mention], mention.term, mention.source, why, "dictionary"))
    merged: dict[str, CodeCandidate] = {}
    for item in sorted(items, key=lambda c: (-c.score, c.first_start)):
        if item.code in merged:
            merged[item.code].mentions.extend(m for m in item.mentions if m not in merged[item.code].mentions)
        else:
            merged[item.code] = item
    return [c.suggestion(ctx.tabular) for c in merged.values()]
