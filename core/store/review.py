"""Review bookkeeping shared by the code list and the note view (no Streamlit here).

The decision store is the source of truth: the review state of a code is its latest decision
(``DecisionStore.current_state``); nothing here is stored in the browser session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.schema import CodeSuggestion, CodingResult, Span

ReviewState = Literal["unreviewed", "accepted", "rejected", "edited", "added"]
STATE_BY_ACTION: dict[str, ReviewState] = {"accept": "accepted", "reject": "rejected", "edit": "edited", "add": "added"}
STATE_LABELS: dict[str, str] = {
    "unreviewed": "Unreviewed",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "edited": "Replaced",
    "added": "Added by coder",
}


def review_states(current_state: dict[str, dict[str, Any]]) -> dict[str, ReviewState]:
    """Code → review state, from the latest decision per code (codes without a decision are absent)."""
    return {code: STATE_BY_ACTION.get(row["action"], "unreviewed") for code, row in current_state.items()}


def added_codes(current_state: dict[str, dict[str, Any]], result: CodingResult) -> list[dict[str, Any]]:
    """Codes the coder added that the pipeline did not suggest, still standing (latest decision is 'add')."""
    suggested = {item.code for item in [*result.codes, *result.candidates]}
    return [row for code, row in current_state.items() if row["action"] == "add" and code not in suggested]


@dataclass
class FinalCode:
    code: str
    description: str
    origin: Literal["suggested", "edited", "added"]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    reviewed: bool = True
    replaces: str = ""  # for an edited code: the suggested code it replaced

    def as_submission_item(self) -> dict[str, Any]:
        item = {"code": self.code, "description": self.description, "origin": self.origin, "evidence": self.evidence}
        return item | ({"replaces": self.replaces} if self.replaces else {})


def _evidence(item: CodeSuggestion) -> list[dict[str, Any]]:
    return [span.model_dump() for span in item.evidence]


def final_code_list(
    result: CodingResult,
    current_state: dict[str, dict[str, Any]],
    describe: Any = None,
    order: list[str] | None = None,
) -> list[FinalCode]:
    """The chart's code set as it stands: what "Submit chart" saves.

    Suggested codes count unless rejected (unreviewed ones are flagged), candidates only once accepted, a
    replaced code counts as its replacement (unless that code was rejected after the replacement), added codes
    count. ``order`` (codes) overrides the default order
    (pipeline codes, accepted candidates, added codes); codes missing from it keep their default place after it.
    """
    describe = describe or (lambda code: "")
    out: list[FinalCode] = []
    seen: set[str] = set()

    def push(item: FinalCode) -> None:
        if item.code not in seen:
            seen.add(item.code)
            out.append(item)

    for item, is_code in [*((c, True) for c in result.codes), *((c, False) for c in result.candidates)]:
        decision = current_state.get(item.code)
        action = decision["action"] if decision else None
        if action == "reject" or (action is None and not is_code):
            continue
        if action == "edit":
            replacement = decision["replacement_code"]
            later = current_state.get(replacement)
            if later and later["action"] == "reject" and later.get("id", 0) > decision.get("id", 0):
                continue  # the coder rejected the replacement code itself afterwards
            push(FinalCode(replacement, describe(replacement), "edited", _evidence(item), True, item.code))
            continue
        push(
            FinalCode(
                item.code, item.description or describe(item.code), "suggested", _evidence(item), action is not None
            )
        )
    for row in added_codes(current_state, result):
        push(FinalCode(row["code"], describe(row["code"]), "added", list(row.get("evidence") or [])))
    if order:
        position = {code: i for i, code in enumerate(order)}
        out.sort(key=lambda f: position.get(f.code, len(position)))
    return out


def other_reviews(store: Any, note_id: int, run_id: int, escape: Callable[[str], str] = str) -> list[str]:
    """One line per other run of the same note that a coder worked on ("run #3: 4 decisions, chart submitted by
    Ana"), oldest first: each run keeps its own decisions, and the coder should know the other work exists.
    ``escape`` is applied to the coder's name (typed by a person: Markdown in it must not render)."""
    lines = []
    for run in sorted(store.runs_for_note(note_id), key=lambda r: r["id"]):
        if run["id"] == run_id:
            continue
        decisions = store.decisions(run_id=run["id"])
        submissions = store.submissions(run_id=run["id"])
        if not decisions and not submissions:
            continue
        line = f"run #{run['id']}: {len(decisions)} decision(s)"
        if submissions:
            last = submissions[-1]
            line += f", chart submitted by {escape(last['user'])} at {str(last['created_at'])[:16]} UTC"
        lines.append(line)
    return lines


def move_code(order: list[str], code: str, step: int) -> list[str]:
    """A copy of ``order`` with ``code`` moved ``step`` places (negative: towards the top)."""
    out = list(order)
    if code not in out:
        return out
    index = out.index(code)
    target = max(0, min(len(out) - 1, index + step))
    out.insert(target, out.pop(index))
    return out


def find_span(note: str, snippet: str) -> list[Span]:
    """Every occurrence of ``snippet`` in ``note`` as spans: exact matches, else case-insensitive ones.

    Whitespace in the snippet matches any run of whitespace, so text copied across a line break still matches.
    """
    wanted = snippet.strip()
    if not wanted:
        return []
    pattern = r"\s+".join(re.escape(part) for part in wanted.split())
    for flags in (0, re.IGNORECASE):
        spans = [Span(start=m.start(), end=m.end(), text=m.group(0)) for m in re.finditer(pattern, note, flags)]
        if spans:
            return spans
    return []


def context_of(note: str, span: Span, width: int = 40) -> str:
    """A one-line excerpt around a span, for pickers ("... before [span] after ...")."""
    before = note[max(0, span.start - width) : span.start].replace("\n", " ")
    after = note[span.end : span.end + width].replace("\n", " ")
    return f"…{before}[{span.text}]{after}…"
