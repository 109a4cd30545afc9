"""Step 3, validator: each candidate checked in the tabular list and made as specific as the evidence allows.

Candidates are grouped by chapter; per group the model sees the chapter guidance and, for each candidate, its
billable subtree (a billable candidate: itself and its siblings), 7th-character definitions and notes, and picks
one ID per candidate (or the candidate's "none" ID). This step never outputs a non-billable or unknown code:
when the model gives nothing usable, a candidate is completed deterministically (:func:`complete_to_billable`)
or left for review. That deterministic choice is each candidate's default in the prompt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.kb.tabular import Tabular, normalize_code
from core.llm.prompts import render_prompt
from core.nlp.textnorm import tokenize
from core.schema import StepTrace
from core.strategies.clh.answers import IdChoice, Option, choose_ids, default_answer, run_all
from core.strategies.clh.context import CodeCandidate, StepContext, merge_by_code
from core.strategies.clh.results import StepTimer, apply_choices

MAX_OPTIONS = 12  # codes shown per candidate
BATCH_SIZE = 6  # candidates per prompt


@dataclass
class Completion:
    code: str | None  # billable code, or None: leave for review
    how: str


def complete_to_billable(code: str, tabular: Tabular, learned_codes: Iterable[str] = ()) -> Completion:
    """A billable code for ``code``: itself; else a learned code below it or in its category; else its
    unspecified descendant (:func:`unspecified_descendant`); else None (left for review)."""
    item = tabular.get(code)
    if item is None:
        return Completion(None, f"{code} is not in the tabular list")
    if item.billable:
        return Completion(item.code, "billable")
    below = set(tabular.billable_descendants(item.code))
    category = tabular.category(item.code)
    learned = [normalize_code(c) for c in learned_codes]
    for wanted in (lambda c: c in below, lambda c: tabular.category(c) == category):
        for candidate in learned:
            if tabular.is_billable(candidate) and wanted(candidate):
                return Completion(candidate, f"completed {item.code} → {candidate} from the dictionary's learned codes")
    default = unspecified_descendant(item.code, tabular)
    if default:
        return Completion(default, f"completed {item.code} → {default}: the unspecified code below it")
    return Completion(None, f"{item.code} is not billable and has no unspecified code below it: left for review")


def unspecified_descendant(code: str, tabular: Tabular) -> str | None:
    """Walk down choosing, at each level, the child a coder takes when nothing more is documented.

    In order: a child ending in 9 described as unspecified ("I50.9 Heart failure, unspecified"), a child whose
    description starts or ends with "unspecified" ("J45.90 Unspecified asthma"), a child ending in 9 that is not
    an "other" code ("E11.9 ... without complications"), the first 7th-character extension ("A", initial
    encounter), a child mentioning "unspecified", an only child. None when no level offers one (e.g. Z99).
    """
    item = tabular.get(code)
    for _ in range(6):
        if item is None or item.billable:
            break
        children = [tabular.codes[c] for c in item.children]
        rules = (
            lambda c: c.code.endswith("9") and "unspecified" in c.description.lower(),
            lambda c: _names_unspecified(c.description) and c.kind != "extended",
            lambda c: c.code.endswith("9") and not c.description.lower().startswith("other"),
            lambda c: c.kind == "extended",
            lambda c: "unspecified" in c.description.lower(),
        )
        found = next((child for rule in rules for child in children if rule(child)), None)
        item = found or (children[0] if len(children) == 1 else None)
    return item.code if item is not None and item.billable else None


def _names_unspecified(description: str) -> bool:
    text = description.lower().strip()
    return text.startswith("unspecified") or text.endswith("unspecified")


def subtree_options(
    code: str, tabular: Tabular, first: str | None = None, context: str = "", cap: int = MAX_OPTIONS
) -> list[str]:
    """The billable codes a candidate may become: its subtree, or itself and its siblings when billable.

    ``first`` (the deterministic completion) leads; the rest are ordered by how many words of their description
    occur in ``context`` (the evidence sentence), then in tree order, and capped.
    """
    item = tabular.get(code)
    if item is None:
        return []
    if item.billable and item.parent and tabular.codes[item.parent].kind in ("category", "subcategory"):
        codes = [item.code, *[c for c in tabular.billable_descendants(item.parent) if c != item.code]]
    else:
        codes = tabular.billable_descendants(item.code)
    lead = [c for c in (first, item.code) if c and c in codes]
    words = {t.stem for t in tokenize(context, "en") if not t.is_stop}
    overlap = {c: len(words & {t.stem for t in tokenize(tabular.description(c), "en")}) for c in codes}
    rest = sorted((c for c in codes if c not in lead), key=lambda c: -overlap[c])  # stable: tree order on ties
    return list(dict.fromkeys([*lead, *rest]))[:cap]


def note_lines(code: str, tabular: Tabular) -> list[str]:
    notes = tabular.inherited_notes(code)
    lines = [f"Excludes1: {text}" for text in notes.excludes1[:2]]
    lines += [f"Code first: {text}" for text in notes.code_first[:1]]
    lines += [f"Use additional code: {text}" for text in notes.use_additional[:1]]
    return lines


@dataclass
class Group:
    """Candidates of one chapter shown in one prompt."""

    chapter: str
    members: list[CodeCandidate]
    completions: list[Completion] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)  # owner = member index; code "" = the member's "none"
    defaults: list[int] = field(default_factory=list)  # per member, the option the deterministic path takes
    choice: IdChoice | None = None


@dataclass
class ValidationResult:
    codes: list[CodeCandidate]  # every one billable
    review: list[CodeCandidate]  # rejected by the model or not completable: candidates for review
    trace: StepTrace


def make_groups(ctx: StepContext, candidates: list[CodeCandidate]) -> list[Group]:
    by_chapter: dict[str, list[CodeCandidate]] = {}
    for candidate in candidates:
        by_chapter.setdefault(ctx.tabular.chapter_of(candidate.code), []).append(candidate)
    groups = []
    for chapter, members in by_chapter.items():
        for i in range(0, len(members), BATCH_SIZE):
            groups.append(Group(chapter, members[i : i + BATCH_SIZE]))
    return groups


def _learned_codes(candidate: CodeCandidate) -> list[str]:
    return [code for mention in candidate.mentions for code in mention.codes]


def _prepare(ctx: StepContext, group: Group) -> dict[str, Any]:
    """Number the options of every member and return the template variables."""
    tabular = ctx.tabular
    entries = []
    for index, member in enumerate(group.members):
        completion = complete_to_billable(member.code, tabular, _learned_codes(member))
        group.completions.append(completion)
        shown = []
        first = member.mentions[0].span if member.mentions else None
        context = ctx.sentences.around(first.start, first.end) if first else ""
        for code in subtree_options(member.code, tabular, first=completion.code, context=context):
            group.options.append(Option(len(group.options) + 1, code, tabular.description(code), owner=index))
            shown.append(group.options[-1])
        none_word = "none" if ctx.language == "en" else "ninguno"
        group.options.append(Option(len(group.options) + 1, "", f"{none_word} ({member.code})", owner=index))
        shown.append(Option(group.options[-1].id, "-", group.options[-1].term))
        coded = completion.code if member.score >= ctx.settings.code_threshold else None
        group.defaults.append(next((o.id for o in shown if coded and o.code == coded), shown[-1].id))
        seven = tabular.inherited_notes(member.code).seven_chr_def
        entries.append({
            "code": member.code, "description": tabular.description(member.code),
            "evidence": f"{member.evidence_text} — {context}" if context else member.evidence_text,
            "notes": note_lines(member.code, tabular), "seven_chr": [f"{k} = {v}" for k, v in seven.items()],
            "options": [o.prompt_dict() for o in shown], "default": group.defaults[-1],
        })
    limit = ctx.budget.guidance_small if ctx.structured else ctx.budget.guidance
    guidance = ctx.kb.guidance.for_chapter(group.chapter, ctx.language, max_chars=limit) if group.chapter else ""
    return {"chapter": group.chapter, "guidance": guidance or "-", "groups": entries, "structured": ctx.structured,
            "default": default_answer(group.defaults, ctx.structured)}


def _ask(ctx: StepContext, group: Group) -> None:
    variables = _prepare(ctx, group)
    prompt = render_prompt("validator", ctx.language, **variables)
    label = f"chapter {group.chapter}: " + ", ".join(m.code for m in group.members)
    group.choice = choose_ids(ctx, prompt, {o.id for o in group.options}, max_items=len(group.members) + 2,
                              label=label, default=group.defaults)


def _resolve(ctx: StepContext, group: Group) -> tuple[list[CodeCandidate], list[CodeCandidate]]:
    """Apply the model's picks (first pick per member wins); members without one are completed."""
    picks: dict[int, Option] = {}
    choice = group.choice
    if choice is not None and not choice.fallback:
        by_id = {o.id: o for o in group.options}
        for option_id in choice.ids:
            option = by_id[option_id]
            picks.setdefault(option.owner, option)
    codes, review = [], []
    for index, member in enumerate(group.members):
        option = picks.get(index)
        if option is not None and option.code:
            codes.append(_moved(member, option.code, f"validator chose {option.code} for {member.code}", "validator"))
        elif option is not None:
            review.append(_moved(member, member.code, f"validator: the evidence supports none of {member.code}'s "
                                 "codes — for review", "validator"))
        else:
            reason = "model gave no choice for it" if choice is not None and not choice.fallback else "fallback"
            completion = group.completions[index]
            # Unconfirmed by the model, a member is coded only as the dictionary path would code it: by its score.
            confident = member.score >= ctx.settings.code_threshold
            target = codes if completion.code and confident else review
            if completion.code and not confident:
                reason += f"; score {member.score:.2f} below the code threshold — for review"
            target.append(_moved(member, completion.code or member.code, f"{completion.how} ({reason})",
                                 "validator:deterministic"))
    return codes, review


def _moved(member: CodeCandidate, code: str, why: str, origin: str) -> CodeCandidate:
    rationale = f"{member.rationale}; {why}" if member.rationale else why
    return CodeCandidate(code, member.score, list(member.mentions), member.term, f"{member.origin}>{origin}",
                         rationale, "validator")


def validate(ctx: StepContext, candidates: list[CodeCandidate]) -> ValidationResult:
    timer = StepTimer()
    groups = make_groups(ctx, candidates)
    run_all(lambda group: _ask(ctx, group), groups, ctx.backend.supports_concurrency)
    codes: list[CodeCandidate] = []
    review: list[CodeCandidate] = []
    for group in groups:
        group_codes, group_review = _resolve(ctx, group)
        codes += group_codes
        review += group_review
    not_billable = [c for c in codes if not ctx.tabular.is_billable(c.code)]  # never expected; guarded anyway
    codes = merge_by_code(c for c in codes if ctx.tabular.is_billable(c.code))
    review = merge_by_code([*review, *not_billable])
    review = [c for c in review if c.code not in {k.code for k in codes}]
    trace = _trace(ctx, groups, codes, review)
    trace.duration_ms = timer.ms()
    return ValidationResult(codes, review, trace)


def _trace(ctx: StepContext, groups: list[Group], codes: list[CodeCandidate], review: list[CodeCandidate]) -> StepTrace:
    trace = StepTrace(
        step="validator",
        inputs={"candidates": sum(len(g.members) for g in groups), "groups": len(groups),
                "chapters": sorted({g.chapter for g in groups}), "structured_answers": ctx.structured},
        candidates=[{"chapter": g.chapter, "members": [m.code for m in g.members],
                     "options": [o.line() if o.code else f"ID: {o.id} | - | {o.term}" for o in g.options],
                     "completions": [c.how for c in g.completions]} for g in groups],
        output_codes=[c.code for c in codes],
    )
    apply_choices(trace, [g.choice for g in groups if g.choice is not None],
                  "deterministic completion used for those candidates")
    if review:
        trace.notes.append("left for review: " + "; ".join(f"{c.code} ({c.rationale[-120:]})" for c in review[:12]))
    return trace
