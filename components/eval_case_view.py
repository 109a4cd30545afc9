"""Per-case drill-down: the note with true-positive / false-positive / missed evidence highlighted, and the gold vs
predicted code lists. The note is untrusted text: every character of it goes through ``html.escape``."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from core.datasets.codiesp import Case
from core.evaluation.runs import FALSE_POSITIVE, MISS, OUTCOMES, TRUE_POSITIVE, LoadedRun
from core.evaluation.views import EvidenceMark, case_view, case_view_frame, evidence_marks

OUTCOME_STYLE = {
    TRUE_POSITIVE: ("#c8e6c9", "#2e7d32"),  # background, border
    FALSE_POSITIVE: ("#ffcdd2", "#c62828"),
    MISS: ("#fff3b0", "#b28704"),
}
PRIORITY = (TRUE_POSITIVE, MISS, FALSE_POSITIVE)  # which colour wins where evidence overlaps


def legend_html() -> str:
    items = [
        f'<span style="background:{bg};border-bottom:2px solid {line};padding:0 4px">{html.escape(name)}</span>'
        for name, (bg, line) in OUTCOME_STYLE.items()
    ]
    return "Evidence: " + " ".join(items) + " (hover a highlight for its codes)"


def highlighted_note_html(text: str, marks: list[EvidenceMark]) -> str:
    """The note as escaped HTML, each evidence range wrapped in a ``<mark>`` coloured by its outcome.

    Overlapping evidence is cut at every boundary; each piece takes the colour of its highest-priority outcome
    (TP, then miss, then FP) and lists every code covering it in its title.
    """
    bounds = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    pieces: list[str] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        chunk = html.escape(text[start:end])
        covering = [m for m in marks if m.start <= start and end <= m.end]
        if not covering:
            pieces.append(chunk)
            continue
        outcomes = {m.outcome for m in covering}
        main = next(o for o in PRIORITY if o in outcomes)
        background, line = OUTCOME_STYLE[main]
        others = [o for o in PRIORITY if o in outcomes and o != main]
        underline = OUTCOME_STYLE[others[0]][1] if others else line
        title = "; ".join(sorted({f"{m.code} ({m.outcome}, {m.side})" for m in covering}))
        pieces.append(
            f'<mark class="ev-{main.replace(" ", "-")}" title="{html.escape(title, quote=True)}" '
            f'style="background:{background};border-bottom:2px solid {underline};padding:0">{chunk}</mark>'
        )
    body = "".join(pieces)
    return (
        '<div class="eval-note" style="white-space:pre-wrap;font-family:inherit;line-height:1.6;'
        f'max-height:480px;overflow-y:auto;border:1px solid #ddd;border-radius:4px;padding:8px">{body}</div>'
    )


def render_case_drilldown(run: LoadedRun, cases: dict[str, Case], describe: Callable[[str], str] | None = None,
                          *, key: str = "eval_case") -> None:
    """Pick a case of the run and show its highlighted note and code lists."""
    case_ids = [case_id for case_id in run.predictions if case_id in cases]
    if not case_ids:
        st.info("The notes of this run's split are not available here, so cases cannot be shown "
                f"(split {run.split!r}, language {run.language!r}).")
        return
    case_id = st.selectbox("Case", case_ids, key=key)
    case = cases[case_id]
    record = run.predictions[case_id]
    if record.get("error"):
        st.error(f"Coding failed for this case: {record['error']}")
    rows = case_view(run, case)
    gold_valid = case.language == "es"
    counts = {outcome: sum(r.outcome == outcome for r in rows) for outcome in OUTCOMES}
    columns = st.columns(4)
    columns[0].metric("true positives", counts[TRUE_POSITIVE])
    columns[1].metric("false positives", counts[FALSE_POSITIVE])
    columns[2].metric("misses", counts[MISS])
    columns[3].metric("latency (ms)", f"{float(record.get('latency_ms') or 0):.0f}")
    st.markdown(legend_html(), unsafe_allow_html=True)
    if not gold_valid:
        st.caption("Gold evidence offsets refer to the Spanish original, so only predicted evidence is highlighted "
                   "in this English text; gold evidence is listed in the table below.")
    marks = evidence_marks(rows, len(case.text), gold_offsets_valid=gold_valid)
    st.markdown(highlighted_note_html(case.text, marks), unsafe_allow_html=True)

    left, right = st.columns(2)
    left.markdown("**Gold codes**")
    left.write(", ".join(case.gold(run.task)) or "(none)")
    right.markdown("**Predicted codes** (ranked; candidates after the codes)")
    right.write(", ".join(record.get("ranked", [])) or "(none)")
    st.dataframe(case_view_frame(rows, describe), hide_index=True, width="stretch")
