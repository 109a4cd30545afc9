"""Seed variant "hierarchical": walk the tabular list top-down. The model first picks among categories suggested
by the dictionary and retrieval, then among the children of what it picked, level by level, until billable.
A chosen node whose children the model does not pick is completed deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.llm.prompts import render_prompt
from core.progress import Progress
from core.schema import CodingResult, StepTrace
from core.strategies.clh.answers import IdChoice, Option, choose_ids
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.results import StepTimer, apply_choices, baseline_result
from core.strategies.clh.validator import complete_to_billable
from core.strategies.variants.common import model_choice_result, note_wide_candidate, variant_runner
from core.strategies.variants.rag import retrieve_codes

MAX_START_CATEGORIES = 30
MAX_CHOSEN = 6  # nodes followed per level
MAX_CHILDREN_SHOWN = 40
MAX_LEVELS = 4  # category → subcategory → … → 7th character
# Siblings are alternatives: a pick of more than this many children of one node (a small model listing every
# option) says nothing about which one, so that node is completed deterministically instead.
MAX_SIBLINGS = 2
LEVEL_NAMES = {"en": ("categories", "subcategories"), "es": ("categorías", "subcategorías")}


@dataclass
class Walk:
    choices: list[IdChoice] = field(default_factory=list)
    final: list[tuple[str, str]] = field(default_factory=list)  # (billable code, how it was reached)
    review: list[str] = field(default_factory=list)  # nodes with no billable completion
    notes: list[str] = field(default_factory=list)


def start_categories(ctx: StepContext) -> list[str]:
    """Categories of the dictionary's codable links first, then of the codes retrieval finds for the note."""
    categories: list[str] = []
    codable = [m for m in ctx.baseline.mentions if m.codes and m.assertion not in ("negated", "family", "hypothetical")]
    codes = [m.codes[0] for m in codable] + [hit.code for hit in retrieve_codes(ctx, limit=60)]
    for code in codes:
        category = ctx.tabular.category(code)
        if ctx.tabular.exists(category) and category not in categories:
            categories.append(category)
    return categories[:MAX_START_CATEGORIES]


def _pick(ctx: StepContext, nodes: list[str], level: str, label: str) -> tuple[IdChoice, list[str]]:
    options = [Option(i, code, ctx.tabular.description(code)) for i, code in enumerate(nodes, start=1)]
    prompt = render_prompt("hierarchical", ctx.language, note=ctx.text[:ctx.budget.note], level=level,
                           candidates=[o.prompt_dict() for o in options], structured=ctx.structured)
    choice = choose_ids(ctx, prompt, {o.id for o in options}, max_items=MAX_CHOSEN, label=label)
    return choice, [nodes[i - 1] for i in choice.ids]


def _complete(ctx: StepContext, walk: Walk, node: str, why: str) -> None:
    learned = [c for m in ctx.baseline.mentions for c in m.codes]
    completion = complete_to_billable(node, ctx.tabular, learned)
    if completion.code:
        walk.final.append((completion.code, f"{why}; {completion.how}"))
    else:
        walk.review.append(node)


def descend(ctx: StepContext, walk: Walk, chosen: list[str]) -> None:
    """Follow the chosen nodes down, one prompt per level, until every path ends on a billable code."""
    frontier = chosen
    for depth in range(1, MAX_LEVELS + 1):
        open_nodes = []
        for node in frontier:
            if ctx.tabular.is_billable(node):
                walk.final.append((node, f"chosen at level {depth}"))
            else:
                open_nodes.append(node)
        if not open_nodes:
            return
        if depth == MAX_LEVELS:
            break
        children = [c for node in open_nodes for c in ctx.tabular.get(node).children][:MAX_CHILDREN_SHOWN]
        choice, picked = _pick(ctx, children, LEVEL_NAMES.get(ctx.language, LEVEL_NAMES["en"])[1], f"level {depth + 1}")
        walk.choices.append(choice)
        kept: list[str] = []
        for node in open_nodes:
            below = [p for p in picked if p.startswith(node) and p not in kept]
            if not below:
                _complete(ctx, walk, node, f"the model picked no code below {node}")
            elif len(below) > MAX_SIBLINGS:
                walk.notes.append(f"{node}: the model picked {len(below)} of its children; completed instead")
                _complete(ctx, walk, node, f"the model picked {len(below)} alternatives below {node}, not one")
            else:
                kept.extend(below)
        frontier = kept
    for node in frontier:
        if not ctx.tabular.is_billable(node):
            _complete(ctx, walk, node, f"deepest level reached at {node}")


@variant_runner
def run_hierarchical(ctx: StepContext, notify: Progress) -> CodingResult:
    timer = StepTimer()
    notify("hierarchical", "choosing categories")
    categories = start_categories(ctx)
    trace = StepTrace(step="hierarchical", inputs={"start_categories": len(categories),
                                                   "structured_answers": ctx.structured},
                      candidates=[f"{c} | {ctx.tabular.description(c)}" for c in categories])
    if not categories:
        trace.duration_ms = timer.ms()
        return baseline_result(ctx, "hierarchical", "hierarchical", "no category to start from", [trace])
    walk = Walk()
    choice, chosen = _pick(ctx, categories, LEVEL_NAMES.get(ctx.language, LEVEL_NAMES["en"])[0], "categories")
    walk.choices.append(choice)
    if chosen:
        notify("hierarchical", f"walking down {len(chosen)} categories")
        descend(ctx, walk, chosen)
    apply_choices(trace, walk.choices, "deterministic completion below the last chosen node")
    trace.parsed = {"levels": trace.parsed, "final": walk.final, "review": walk.review}
    trace.notes += walk.notes
    chosen_codes = _candidates(ctx, walk)
    trace.output_codes = [c.code for c in chosen_codes]
    trace.duration_ms = timer.ms()
    if not chosen_codes:
        return baseline_result(ctx, "hierarchical", "hierarchical", choice.fallback or "the walk ended on no code",
                               [trace])
    return model_choice_result(ctx, "hierarchical", chosen_codes, [trace])


def _candidates(ctx: StepContext, walk: Walk) -> list[CodeCandidate]:
    seen: dict[str, CodeCandidate] = {}
    for code, how in walk.final:
        if code not in seen:
            seen[code] = note_wide_candidate(ctx, code, "hierarchical", "hierarchical", how)
    return list(seen.values())
