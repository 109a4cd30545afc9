"""The access log on the Audit page: who opened which note or run, exported what, signed in, from which page.
Filterable and exportable; rows are never changed (``core.store.accounts``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import export_callback, may
from core.store import DecisionStore
from core.store.accounts import ACCESS_ACTIONS

ANY = "(any)"
SHOWN_ROWS = 1000
EXCEL_BOM = "\ufeff"


def _filters(store: DecisionStore) -> dict[str, Any]:
    first, second, third = st.columns(3)
    user = first.selectbox("Who", [ANY, *store.accounts.access_users()], key="access_user")
    action = second.selectbox("What", [ANY, *ACCESS_ACTIONS], key="access_action")
    note = third.number_input("Note id", min_value=0, value=0, step=1, key="access_note",
                              help="0: every note")
    fourth, fifth = st.columns(2)
    date_from: date | None = fourth.date_input("From", value=None, key="access_from")
    date_to: date | None = fifth.date_input("To (inclusive)", value=None, key="access_to")
    return {
        "user": None if user == ANY else user,
        "action": None if action == ANY else action,
        "note_id": int(note) or None,
        "date_from": date_from,
        "date_to": date_to,
    }


def render_access_log(store: DecisionStore) -> None:
    """The filterable, exportable access log (auditors and admins: the Audit page's role)."""
    st.markdown("#### Access log")
    st.caption("Every opening of a run and its note, every export, sign-in, sign-out and account change, with who, "
               "when and from which page. Rows are appended only: never changed or deleted.")
    filters = _filters(store)
    active = {k: v for k, v in filters.items() if v is not None}
    try:
        rows = store.accounts.access_log(**active)
    except ValueError as exc:
        st.error(f"Invalid filter: {exc}")
        return
    st.caption(f"{len(rows)} row(s), newest first" + (f"; the newest {SHOWN_ROWS} shown" if len(rows) > SHOWN_ROWS
                                                      else ""))
    if rows:
        frame = pd.DataFrame([
            {
                "when (UTC)": row["created_at"][:19].replace("T", " "),
                "who": row["user"] + ("" if row["verified"] else " (unverified)"),
                "what": row["action"],
                "target": row["target"],
                "note": row["note_id"],
                "run": row["run_id"],
                "page": row["page"],
                "detail": row["detail"],
            }
            for row in rows[:SHOWN_ROWS]
        ])
        st.dataframe(frame, hide_index=True, width="stretch", key="access_log_table")
    if not may("export"):
        return
    described = ", ".join(f"{k}={v}" for k, v in active.items())
    left, right = st.columns(2)
    left.download_button("Access log CSV", EXCEL_BOM + store.accounts.export_access_log("csv", **active),
                         file_name="access_log.csv", mime="text/csv", key="dl_access_csv",
                         **export_callback("access_log.csv", described))
    right.download_button("Access log JSON", store.accounts.export_access_log("json", **active),
                          file_name="access_log.json", mime="application/json", key="dl_access_json",
                          **export_callback("access_log.json", described))
