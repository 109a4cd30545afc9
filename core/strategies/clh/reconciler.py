"""Step 4, reconciler: the final, ordered code list from the validated codes and the instructional notes.

The model sees the tentative codes with their evidence and the Excludes1 / code first / use additional /
code also relations among them, and selects the assignable codes in order (precision over recall); the rest
become candidates for review. Deterministic fallback: codes scored at or above ``code_threshold``, the
lower-scored side of an Excludes1 pair dropped, highest score first, code-first targets before their
manifestations; it is also the prompt's default answer. Excludes1 and sequencing rules are applied to the model's
selection too: they are rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.kb.tabular import Tabular, normalize_code
from core.llm.prompts import render_prompt
from core.schema import CodeSuggestion, StepTrace
from core.strategies.clh.answers import IdChoice, choose_ids, default_answer
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.results import StepTimer, apply_choices

MAX_RECONCILED = 30  # codes shown to the model; lower-scored ones stay candidates


@dataclass(frozen=True)
class Relation:
    kind: str  # excludes1 | code_first | use_additional | code_also
    first: str  # the code whose note names the other (for code_first: the code to sequence first)
    second: str

    def describe(self, ids: dict[str, int]) -> str:
        a, b = f"ID {ids[self.first]} ({self.first})", f"ID {ids[self.second]} ({self.second})"
        if self.kind == "excludes1":
            return f"{a} Excludes1 {b}: never code both"
        if self.kind == "code_first":
            return f"code {a} before {b}"
        if self.kind == "use_additional":
            return f"{a} asks for an additional code: {b}"
        return f"{a} code also {b}"


def _matches(code: str, reference: str) -> bool:
    code, reference = normalize_code(code), normalize_code(reference)
    return code == reference or (code.startswith(reference) and len(reference) >= 3)


def find_relations(codes: list[str], tabular: Tabular) -> list[Relation]:
    """Instructional-note relations among ``codes`` (notes inherited from every ancestor)."""
    relations: list[Relation] = []
    seen_excludes: set[frozenset[str]] = set()
    for code in codes:
        notes = tabular.inherited_notes(code)
        for kind in ("excludes1", "code_first", "use_additional", "code_also"):
            references = notes.referenced_codes(kind)
            for other in codes:
                if other == code or not any(_matches(other, ref) for ref in references):
                    continue
                if kind == "excludes1":
                    pair = frozenset((code, other))
                    if pair in seen_excludes:
                        continue
                    seen_excludes.add(pair)
                    relations.append(Relation(kind, code, other))
                elif kind == "code_first":
                    relations.append(Relation(kind, other, code))  # the etiology goes first
                else:
                    relations.append(Relation(kind, code, other))
    return relations


def drop_excluded(order: list[str], scores: dict[str, float], relations: list[Relation]) -> dict[str, str]:
    """For each Excludes1 pair both in ``order``: drop the lower-scored (on a tie, the later) code → reason."""
    dropped: dict[str, str] = {}
    for relation in relations:
        if relation.kind != "excludes1":
            continue
        a, b = relation.first, relation.second
        if a not in order or b not in order or a in dropped or b in dropped:
            continue
        rank = {code: (-scores.get(code, 0.0), order.index(code)) for code in (a, b)}
        loser, winner = (b, a) if rank[a] <= rank[b] else (a, b)
        dropped[loser] = f"Excludes1 with {winner} (higher score): dropped for review"
    return dropped


def apply_sequencing(order: list[str], relations: list[Relation]) -> list[str]:
    """Move each code-first target just before the code that names it (bounded passes; cycles are left)."""
    result = list(order)
    pairs = [(r.first, r.second) for r in relations if r.kind == "code_first"]
    for _ in range(len(pairs) + 1):
        moved = False
        for first, then in pairs:
            if first in result and then in result and result.index(first) > result.index(then):
                result.remove(first)
                result.insert(result.index(then), first)
                moved = True
        if not moved:
            break
    return result


@dataclass
class ReconcileResult:
    codes: list[CodeSuggestion]
    candidates: list[CodeSuggestion]
    trace: StepTrace


def _ask(ctx: StepContext, shown: list[CodeCandidate], relations: list[Relation], default: list[str]) -> IdChoice:
    ids = {c.code: i for i, c in enumerate(shown, start=1)}
    default_ids = [ids[code] for code in default]
    prompt = render_prompt(
        "reconciler", ctx.language, structured=ctx.structured,
        codes=[{"id": ids[c.code], "code": c.code, "description": ctx.tabular.description(c.code),
                "evidence": c.evidence_text} for c in shown],
        rules=[r.describe(ids) for r in relations], default=default_answer(default_ids, ctx.structured),
    )
    return choose_ids(ctx, prompt, set(ids.values()), max_items=len(shown), label="final selection",
                      default=default_ids)


def above_threshold(ctx: StepContext, shown: list[CodeCandidate]) -> list[str]:
    return [c.code for c in shown if c.score >= ctx.settings.code_threshold]


def deterministic_selection(ctx: StepContext, shown: list[CodeCandidate], relations: list[Relation]) -> list[str]:
    """Codes scored at or above the code threshold, Excludes1 losers out, code-first targets first."""
    selected = above_threshold(ctx, shown)
    dropped = drop_excluded(selected, {c.code: c.score for c in shown}, relations)
    return apply_sequencing([c for c in selected if c not in dropped], relations)


def reconcile(ctx: StepContext, validated: list[CodeCandidate], review: list[CodeCandidate]) -> ReconcileResult:
    timer = StepTimer()
    ranked = sorted(validated, key=lambda c: (-c.score, c.first_start))
    shown, overflow = ranked[:MAX_RECONCILED], ranked[MAX_RECONCILED:]
    relations = find_relations([c.code for c in shown], ctx.tabular)
    default = deterministic_selection(ctx, shown, relations)
    choice = _ask(ctx, shown, relations, default) if shown else None
    scores = {c.code: c.score for c in shown}
    if choice is not None and not choice.fallback:
        selected = [shown[i - 1].code for i in choice.ids]
        why_left = "not selected by the reconciler (precision over recall): for review"
        how = "selected by the reconciler"
    else:
        selected = above_threshold(ctx, shown)
        why_left = f"score below the code threshold {ctx.settings.code_threshold}: for review"
        how = f"score ≥ {ctx.settings.code_threshold}"
    dropped = drop_excluded(selected, scores, relations)
    final = apply_sequencing([c for c in selected if c not in dropped], relations)
    by_code = {c.code: c for c in shown}
    codes = [_suggestion(ctx, by_code[code], "code", how) for code in final]
    left = [c for c in shown if c.code not in final]
    candidates = [_suggestion(ctx, c, "candidate", dropped.get(c.code, why_left)) for c in left]
    candidates += [_suggestion(ctx, c, "candidate", "beyond the reconciler's list size: for review") for c in overflow]
    candidates += [_suggestion(ctx, c, "candidate", "") for c in sorted(review, key=lambda c: -c.score)]
    trace = _trace(ctx, shown, relations, choice, final, dropped)
    trace.duration_ms = timer.ms()
    return ReconcileResult(codes, candidates, trace)


def _suggestion(ctx: StepContext, candidate: CodeCandidate, status: str, why: str) -> CodeSuggestion:
    suggestion = candidate.suggestion(ctx.tabular, status)
    if why:
        suggestion.rationale = f"{candidate.rationale}; {why}" if candidate.rationale else why
        suggestion.step = "reconciler"
    return suggestion


def _trace(ctx: StepContext, shown: list[CodeCandidate], relations: list[Relation], choice: IdChoice | None,
           final: list[str], dropped: dict[str, str]) -> StepTrace:
    ids = {c.code: i for i, c in enumerate(shown, start=1)}
    trace = StepTrace(
        step="reconciler",
        inputs={"tentative_codes": len(shown), "code_threshold": ctx.settings.code_threshold,
                "structured_answers": ctx.structured},
        candidates=[f"ID: {ids[c.code]} | {c.code} | {c.score:.2f} | {c.evidence_text[:80]}" for c in shown],
        output_codes=final,
        notes=[r.describe(ids) for r in relations] + [f"{code}: {why}" for code, why in dropped.items()],
    )
    if choice is not None:
        apply_choices(trace, [choice], "deterministic selection: score threshold, Excludes1, code-first order")
    else:
        trace.notes.append("no validated code to reconcile")
    return trace
