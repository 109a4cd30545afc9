"""The worklist page: the queue of charts with its filters and **Start next chart**, and the chart a coder has
open, reviewed in the same workspace as the main page, from the keyboard, with **Submit and next**.

Everything is read from and written to the store (``core.worklist.queue``): claiming a chart is one transaction,
so two coders never get the same chart, and a browser refresh finds the coder's open chart again (Start next
chart resumes it). The coder is the sidebar's coder name, read in one place (``components.sidebar.coder_name``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import acting, log_access, may
from components.code_review import ReviewContext
from components.review_keys import KEYS, render_review_keys
from components.safe_text import md_escape
from components.sidebar import coder_name, knowledge
from components.workspace import render_workspace
from core.schema import CodingResult
from core.settings import LANGUAGES, Settings
from core.store import DecisionStore, StoreUnavailable
from core.store.models import utcnow
from core.store.review import final_code_list
from core.store.worklist import STATES
from core.worklist.queue import Chart, WorklistQueue

CHART_KEY = "worklist_chart"  # the worklist id of the chart open in this session
FLASH_KEY = "worklist_flash"
LOADED_KEY = "worklist_loaded"  # (run id, note text, result): a stored run is read once per chart
LANGUAGE_KEY, STATES_KEY, PERSON_KEY = "wl_language", "wl_states", "wl_person"  # kept while a chart is open
ANY = "(any)"
TABLE_LIMIT = 500
DEFAULT_STATES = ["queued", "coding", "precoded", "in_review", "failed"]


def _flash(level: str, message: str) -> None:
    st.session_state[FLASH_KEY] = (level, message)


def _show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        level, message = flash
        {"success": st.success, "error": st.error, "warning": st.warning}.get(level, st.info)(message)


def _language_filter() -> str | None:
    language = st.session_state.get(LANGUAGE_KEY, ANY)
    return None if language == ANY else language


# --------------------------------------------------------------------------- callbacks (run before the page)


def _open_next(queue: WorklistQueue, coder: str, language: str | None) -> Chart | None:
    chart = queue.claim_for_review(coder, language)
    if chart is None:
        st.session_state.pop(CHART_KEY, None)
    else:
        st.session_state[CHART_KEY] = chart.id
    return chart


def _start_next(url: str) -> None:
    coder = coder_name()
    if not coder:
        _flash("error", "Enter your name in the sidebar first: the chart is claimed for you.")
        return
    queue = WorklistQueue(DecisionStore(url))
    try:
        chart = _open_next(queue, coder, _language_filter())
    except StoreUnavailable as exc:
        _flash("error", f"No chart was claimed: {md_escape(str(exc))}")
        return
    if chart is None:
        status = queue.status()
        waiting = status["queued"] + status["coding"]
        _flash("info", "No pre-coded chart is waiting" + (f" in {_language_filter().upper()}" if _language_filter()
                                                          else "") + "."
               + (f" {waiting} chart(s) are still to be pre-coded: is a worker running (`python -m core worker`)?"
                  if waiting else ""))


def _back() -> None:
    st.session_state.pop(CHART_KEY, None)  # the chart stays this coder's: Start next chart reopens it


def _release(url: str, chart_id: int) -> None:
    coder = coder_name()
    released = WorklistQueue(DecisionStore(url)).release_review(chart_id, coder)
    st.session_state.pop(CHART_KEY, None)
    _flash("success" if released else "error",
           f"Chart #{chart_id} is back in the queue; the decisions made on it stay with it." if released
           else f"Chart #{chart_id} was not yours to release any more.")


def _submit_and_next(url: str, chart_id: int, run_id: int, result: CodingResult, describe: Callable[[str], str],
                     order_key: str, shown: list[dict[str, Any]]) -> None:
    """Store the chart's final code set (only if it is the set the coder saw), close the chart and open the next."""
    actor, problem = acting("submit")
    if actor is None:
        _flash("error", problem)
        return
    coder = actor.name
    store = DecisionStore(url)
    queue = WorklistQueue(store)
    try:
        chart = queue.get(chart_id)
        if chart.state != "in_review" or chart.reviewer != coder:
            st.session_state.pop(CHART_KEY, None)
            _flash("error", f"Not submitted: chart #{chart_id} is no longer open for you ({chart.state}). Your "
                            "decisions on it are kept.")
            return
        items = [item.as_submission_item() for item in
                 final_code_list(result, store.current_state(run_id), describe, st.session_state.get(order_key))]
        if items != shown:
            changed = sorted({i["code"] for i in items} ^ {i["code"] for i in shown}) or ["order or evidence"]
            _flash("error", "Not submitted: the chart changed since this page was drawn (another tab decided on "
                            f"{', '.join(changed)}). Check the final code set and submit again.")
            return
        submission_id = store.submit(run_id, items, coder, verified=actor.verified)
        queue.mark_submitted(chart_id, coder, submission_id)
        following = _open_next(queue, coder, _language_filter())
    except (ValueError, StoreUnavailable) as exc:
        _flash("error", f"Not submitted: {md_escape(str(exc))}")
        return
    _flash("success", f"Chart #{chart_id} submitted ({len(items)} code{'' if len(items) == 1 else 's'})."
           + (f" Chart #{following.id} is open." if following else " No more pre-coded charts are waiting."))


# --------------------------------------------------------------------------- the open chart


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    seconds = max((now - when).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _loaded(store: DecisionStore, chart: Chart) -> tuple[str, CodingResult]:
    cached = st.session_state.get(LOADED_KEY)
    if cached is None or cached[0] != chart.run_id:
        note = store.get_note(chart.note_id)
        cached = st.session_state[LOADED_KEY] = (chart.run_id, note["text"], store.get_result(chart.run_id))
    return cached[1], cached[2]


def _render_chart(store: DecisionStore, queue: WorklistQueue, chart_id: int, settings: Settings, coder: str) -> bool:
    """Draw the open chart; False (and nothing drawn) when it is no longer open for this coder."""
    try:
        chart = queue.get(chart_id)
        if chart.state == "in_review" and queue.sync_submitted(chart.id):  # the workspace's own Submit chart
            chart = queue.get(chart_id)
    except ValueError:
        chart = None
    if chart is None or chart.state != "in_review" or chart.reviewer != coder:
        st.session_state.pop(CHART_KEY, None)
        if chart is not None and chart.state == "submitted":
            st.success(f"Chart #{chart_id} was submitted. Start the next chart below.")
        elif coder:
            st.warning(f"Chart #{chart_id} is no longer open for you. The worklist is below.")
        return False
    try:
        note_text, result = _loaded(store, chart)
    except ValueError as exc:
        st.error(f"Chart #{chart.id}'s run #{chart.run_id} could not be opened: {exc}. Release it and report it.")
        st.button("Release chart", key="wl_release", on_click=_release, args=(store.url, chart.id))
        return True
    now = utcnow()
    title_col, back_col, release_col = st.columns([6, 1.3, 1.3], vertical_alignment="center")
    title_col.markdown(f"### Chart #{chart.id} · {md_escape(chart.external_id or chart.source)}")
    back_col.button("Back to the worklist", key="wl_back", on_click=_back, width="stretch",
                    help="The chart stays yours: Start next chart reopens it.")
    release_col.button("Release chart", key="wl_release", on_click=_release, args=(store.url, chart.id),
                       width="stretch", help="Give it back to the queue for anyone; your decisions stay with it.")
    st.caption(f"{chart.language.upper()} · priority {chart.priority} · queued {_age(chart.created_at, now)} ago · "
               f"pre-coded {_age(chart.coded_at, now)} ago ({result.strategy}/{result.backend}) · opened "
               f"{_age(chart.opened_at, now)} ago by {md_escape(coder)}")
    log_access("open_run", target=f"run #{chart.run_id}", note_id=chart.note_id, run_id=chart.run_id)
    kb = knowledge(settings)  # the review needs the tabular list and code search only
    ctx = ReviewContext(store, kb, chart.run_id, note_text, result, store.current_state(chart.run_id))
    order_key = ctx.order_key
    final = final_code_list(result, ctx.current_state, kb.tabular.description, st.session_state.get(order_key))
    shown = [item.as_submission_item() for item in final]

    def submit_button(column: Any) -> None:
        column.button("Submit and next", key="wl_submit_next", shortcut=KEYS["submit_next"], type="primary",
                      on_click=_submit_and_next, width="stretch", disabled=not may("submit"),
                      args=(store.url, chart.id, chart.run_id, result, kb.tabular.description, order_key, shown),
                      help=f"Store the final code set ({len(shown)} codes) and open the next chart.")

    render_review_keys(ctx, submit_button)
    render_workspace(ctx)
    return True


# --------------------------------------------------------------------------- the queue


def _keep(widget_key: str, kept_key: str) -> None:
    st.session_state[kept_key] = st.session_state[widget_key]


def _filters() -> tuple[list[str], str | None, str]:
    st.session_state.setdefault(STATES_KEY, DEFAULT_STATES)
    st.session_state.setdefault(LANGUAGE_KEY, ANY)
    st.session_state.setdefault(PERSON_KEY, "")
    for kept in (STATES_KEY, LANGUAGE_KEY, PERSON_KEY):  # widgets not drawn while a chart is open lose their state
        st.session_state[f"{kept}_w"] = st.session_state[kept]
    states_col, language_col, person_col = st.columns([3, 1, 2])
    states = states_col.multiselect("States", STATES, key=f"{STATES_KEY}_w", on_change=_keep,
                                    args=(f"{STATES_KEY}_w", STATES_KEY))
    language_col.selectbox("Language", [ANY, *LANGUAGES], key=f"{LANGUAGE_KEY}_w", on_change=_keep,
                           args=(f"{LANGUAGE_KEY}_w", LANGUAGE_KEY),
                           help="Also the language Start next chart picks from.")
    person = person_col.text_input("Coder (assigned or reviewing)", key=f"{PERSON_KEY}_w", on_change=_keep,
                                   args=(f"{PERSON_KEY}_w", PERSON_KEY))
    return states, _language_filter(), person.strip()


def _table(charts: list[Chart]) -> None:
    now = utcnow()
    frame = pd.DataFrame(
        [
            {
                "chart": c.id,
                "state": c.state,
                "age": _age(c.created_at, now),
                "language": c.language,
                "codes": c.n_codes if c.run_id else None,
                "candidates": c.n_candidates if c.run_id else None,
                "assignee": c.reviewer or c.assignee or "",
                "priority": c.priority,
                "id": c.external_id,
                "source": c.source,
                "problem": c.error,
            }
            for c in charts
        ],
        columns=["chart", "state", "age", "language", "codes", "candidates", "assignee", "priority", "id", "source",
                 "problem"],
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="wl_table")


def _render_queue(queue: WorklistQueue, coder: str) -> None:
    status = queue.status()
    for column, state in zip(st.columns(len(STATES)), STATES, strict=True):
        column.metric(state.replace("_", " "), status[state])
    mine = queue.current_review(coder) if coder else None
    start_col, info_col = st.columns([2, 5], vertical_alignment="center")
    start_col.button(f"Resume chart #{mine.id}" if mine else "Start next chart", key="wl_start_next", type="primary",
                     shortcut=KEYS["start_next"], on_click=_start_next, args=(queue.store.url,),
                     disabled=not coder or not may("submit"), width="stretch",
                     help="Enter your name in the sidebar first." if not coder else
                     "Claims the next pre-coded chart for you (assigned to you first, then by priority and age).")
    if not coder:
        info_col.info("Enter your name in the sidebar to start reviewing charts.", icon="👤")
    elif status["total"] == 0:
        info_col.info("The worklist is empty: import charts with `python -m core worklist import PATH`.")
    elif status["precoded"] == 0 and status["queued"] + status["coding"]:
        info_col.info(f"{status['queued'] + status['coding']} chart(s) are waiting to be pre-coded: is a worker "
                      "running? `python -m core worker` (started by `make run`).")
    else:
        info_col.caption(f"{status['precoded']} chart(s) ready for review · {status['runs']} stored run(s)"
                         + (f" · oldest waiting {status['oldest_waiting_s'] / 60:.0f} min"
                            if status["oldest_waiting_s"] is not None else ""))
    states, language, person = _filters()
    charts = queue.items(states=states or None, language=language, person=person or None, limit=TABLE_LIMIT)
    _table(charts)
    if len(charts) == TABLE_LIMIT:
        st.caption(f"The first {TABLE_LIMIT} charts by priority and age; narrow the filters to see others.")
    if status["failed"]:
        st.caption(f"{status['failed']} chart(s) failed to pre-code (reason in the table): fix the cause, then "
                   "`python -m core worklist retry`.")
    st.button("Refresh", key="wl_refresh")


def render_worklist(store: DecisionStore, settings: Settings) -> None:
    queue = WorklistQueue(store)
    coder = coder_name()
    _show_flash()
    chart_id = st.session_state.get(CHART_KEY)
    if chart_id is not None and _render_chart(store, queue, chart_id, settings, coder):
        return
    st.session_state.pop(LOADED_KEY, None)
    _render_queue(queue, coder)

