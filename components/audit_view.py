"""Audit: filter the decision log, inspect why a code was proposed and who decided what, export everything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import export_callback, log_access, may
from components.highlight import build_annotations, render_note_html
from components.safe_text import md_escape
from core.store import ACTIONS, DecisionStore
from core.store.review import added_codes, review_states

ANY = "(any)"


def _evidence_text(spans: list[dict[str, Any]]) -> str:
    return "; ".join(f"“{s.get('text', '')}” ({s.get('start')}–{s.get('end')})" for s in spans or [])


def _evidence_markdown(spans: list[dict[str, Any]]) -> str:
    return "; ".join(f"“{md_escape(s.get('text', ''))}” ({s.get('start')}–{s.get('end')})" for s in spans or [])


def _filters(store: DecisionStore) -> dict[str, Any]:
    notes = store.notes()
    # Coders who only submitted charts are coders too (their submissions are exported with the same filter).
    users = sorted({row["user"] for row in store.decisions()} | {row["user"] for row in store.submissions()})
    note_labels = {
        n["id"]: f"#{n['id']} · {n['source'] or 'note'} · {n['language']} · {n['created_at'][:16]}" for n in notes
    }
    first, second, third = st.columns(3)
    note_id = first.selectbox(
        "Note", [None, *note_labels], key="audit_note", format_func=lambda i: ANY if i is None else note_labels[i]
    )
    user = second.selectbox("Coder", [ANY, *users], key="audit_user")
    action = third.selectbox("Action", [ANY, *ACTIONS], key="audit_action")
    fourth, fifth, sixth = st.columns(3)
    code = fourth.text_input("Code (decided or replacement)", key="audit_code").strip().upper()
    date_from: date | None = fifth.date_input("From", value=None, key="audit_from")
    date_to: date | None = sixth.date_input("To (inclusive)", value=None, key="audit_to")
    return {
        "note_id": note_id,
        "user": None if user == ANY else user,
        "action": None if action == ANY else action,
        "code": code or None,
        "date_from": date_from,
        "date_to": date_to,
    }


def _decision_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        st.caption("No decisions match these filters.")
        return
    frame = pd.DataFrame(
        [
            {
                "when (UTC)": row["created_at"][:19].replace("T", " "),
                "coder": row["user"],
                "signed in": "yes" if row.get("verified") else "no (typed name, unverified)",
                "action": row["action"],
                "code": row["code"],
                "replacement": row["replacement_code"] or "",
                "reason": row["reason"],
                "evidence": _evidence_text(row["evidence"]),
                "note": row["note_id"],
                "run": row["run_id"],
                "suggested as": row["suggestion_status"] or "added",
                "step": row["suggestion_step"] or "",
                "decision id": row["id"],
            }
            for row in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


EXCEL_BOM = "\ufeff"  # without it Excel reads UTF-8 CSV as the system code page ("PÃ©rez")


def _exports(store: DecisionStore, filters: dict[str, Any]) -> None:
    decision_filters = {k: v for k, v in filters.items() if v is not None}
    submission_filters = {k: v for k, v in decision_filters.items() if k in ("note_id", "user", "date_from", "date_to")}
    st.markdown("#### Export")
    st.caption(
        "Exports use the filters above (code and action apply to decisions only). Files are built here and "
        "downloaded by your browser; nothing is sent anywhere else. CSV files start with a UTF-8 byte order mark, so "
        "spreadsheets show accents right."
    )
    if not may("export"):
        st.caption("Your role may not export.")
        return
    cols = st.columns(4)
    described = ", ".join(f"{k}={v}" for k, v in decision_filters.items())
    cols[0].download_button(
        "Decisions CSV",
        EXCEL_BOM + store.export_decisions("csv", **decision_filters),
        file_name="decisions.csv",
        mime="text/csv",
        key="dl_decisions_csv",
        **export_callback("decisions.csv", described),
    )
    cols[1].download_button(
        "Decisions JSON",
        store.export_decisions("json", **decision_filters),
        file_name="decisions.json",
        mime="application/json",
        key="dl_decisions_json",
        **export_callback("decisions.json", described),
    )
    cols[2].download_button(
        "Submissions CSV",
        EXCEL_BOM + store.export_submissions("csv", **submission_filters),
        file_name="submissions.csv",
        mime="text/csv",
        key="dl_submissions_csv",
        **export_callback("submissions.csv", described),
    )
    cols[3].download_button(
        "Submissions JSON",
        store.export_submissions("json", **submission_filters),
        file_name="submissions.json",
        mime="application/json",
        key="dl_submissions_json",
        **export_callback("submissions.json", described),
    )


DECISION_FILTERS = ("user", "action", "code", "date_from", "date_to")
MAX_RUN_CHOICES = 500


def _run_choices(store: DecisionStore, filters: dict[str, Any], rows: list[dict[str, Any]]) -> list[int]:
    """Runs of the chosen note; else the runs the filtered decisions (and a filtered coder's charts) belong to;
    with no filter, every run, newest first, reviewed or not."""
    if filters["note_id"] is not None:
        return [run["id"] for run in store.runs_for_note(filters["note_id"])]
    if not any(filters.get(name) for name in DECISION_FILTERS):
        return [run["id"] for run in store.recent_runs(limit=MAX_RUN_CHOICES)]
    runs = {row["run_id"] for row in rows}
    if filters.get("user") and not filters.get("action") and not filters.get("code"):
        runs |= {sub["run_id"] for sub in store.submissions(user=filters["user"], date_from=filters.get("date_from"),
                                                            date_to=filters.get("date_to"))}
    return sorted(runs, reverse=True)


def _code_audit(store: DecisionStore, run_id: int, code: str, describe: Callable[[str], str]) -> None:
    audit = store.code_audit(run_id, code)
    status = audit["status"] or "not suggested (from the coder)"
    st.markdown(f"### {md_escape(code)} {md_escape(audit['description'] or describe(code))}")
    score = f" · score {audit['score']:.2f}" if audit["score"] is not None else ""
    rank = f" · rank {audit['rank']}" if audit["rank"] else ""
    st.markdown(
        f"Suggested as **{status}**{rank}{score} · source `{audit['source'] or '—'}` · step `{audit['step'] or '—'}`"
    )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Evidence**")
        st.markdown(_evidence_markdown(audit["evidence"]) or "—")
        st.markdown("**Rationale**")
        st.text(audit["rationale"] or "—")
        st.markdown("**Model**")
        st.markdown(
            f"strategy `{audit['strategy']}` · backend `{audit['backend']}` · model `{audit['model'] or '—'}`"
            f" · run #{run_id} at {audit['run_created_at'][:19].replace('T', ' ')} UTC"
        )
        if audit["steps"]:
            st.markdown("**Steps that proposed it**")
            st.dataframe(pd.DataFrame(audit["steps"]), hide_index=True, width="stretch")
    with right:
        st.markdown("**Decisions**")
        if audit["decisions"]:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "when (UTC)": d["created_at"][:19].replace("T", " "),
                            "coder": d["user"] + ("" if d.get("verified") else " (unverified)"),
                            "code": d["code"],
                            "action": d["action"],
                            "replacement": d["replacement_code"] or "",
                            "reason": d["reason"],
                        }
                        for d in audit["decisions"]
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("No decision on this code yet.")
        current = audit["current"]
        if current:
            instead = (f" (put in place of {md_escape(current['code'])})" if current["code"] != code else "")
            st.markdown(
                f"Current state: **{current['action']}**{instead} by {md_escape(current['user'])} "
                f"at {current['created_at'][:19].replace('T', ' ')} UTC"
            )
        st.markdown("**Prompt versions**")
        st.json(audit["prompt_versions"] or {}, expanded=False)
        st.markdown("**Resource versions**")
        st.json(audit["resource_versions"] or {}, expanded=False)
    with st.expander("The note with this code's evidence", expanded=False):
        note = store.get_note(audit["note_id"])
        result = store.get_result(run_id)
        state = store.current_state(run_id)
        annotations = build_annotations(note["text"], result, review_states(state), added_codes(state, result))
        st.markdown(render_note_html(note["text"], annotations, focus_code=code), unsafe_allow_html=True)


def render_audit(store: DecisionStore, describe: Callable[[str], str] = lambda code: "") -> None:
    """``describe`` gives a code's title where the run has none (a code only a coder added)."""
    filters = _filters(store)
    try:
        rows = store.decisions(**{k: v for k, v in filters.items() if v is not None})
    except ValueError as exc:
        st.error(f"Invalid filter: {exc}")
        return
    st.markdown(f"#### Decisions ({len(rows)})")
    _decision_table(rows)
    _exports(store, filters)

    st.markdown("#### Why was a code proposed?")
    if filters["date_from"] and filters["date_to"] and filters["date_from"] > filters["date_to"]:
        st.warning("“From” is after “To”: no decision can match. Swap the dates.")
    runs = _run_choices(store, filters, rows)
    if not runs:
        filtered = filters["note_id"] is not None or any(filters.get(name) for name in DECISION_FILTERS)
        st.caption("No run matches these filters." if filtered and store.recent_runs(limit=1)
                   else "No runs yet: code a note on the main page first.")
        return
    run_col, code_col = st.columns(2)
    run_id = run_col.selectbox("Run", runs, key="audit_run", format_func=lambda r: f"run #{r}")
    run = store.get_run(run_id)
    log_access("open_run", target=f"run #{run_id}", note_id=run["note_id"], run_id=run_id)  # it shows the note
    codes = [s["code"] for s in run["suggestions"]]
    for row in store.current_state(run_id).values():  # codes a coder added or put in place of a suggested one
        for decided in (row["code"], row.get("replacement_code")):
            if decided and decided not in codes:
                codes.append(decided)
    if filters["code"] and filters["code"] in codes:
        codes.remove(filters["code"])
        codes.insert(0, filters["code"])
    if not codes:
        st.caption("This run proposed no codes and has no decisions.")
        return
    labels = {s["code"]: f"{s['code']} · {s['status']} · {s['description']}" for s in run["suggestions"]}
    code = code_col.selectbox("Code", codes, key="audit_code_pick",
                              format_func=lambda c: labels.get(c, f"{c} · from the coder"))
    _code_audit(store, run_id, code, describe)
