"""Clinical coding assistant — Streamlit entry point.

``streamlit run app.py``. This file is the frame around every page: it draws the shared sidebar (coder name,
pipeline settings, resources) and the navigation, then runs the chosen page. The main page, "Code a note",
is defined here; the others are the files in ``pages/`` (picked up automatically, sorted by file name).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components.auth import log_access, may, page_allowed, require_sign_in
from components.code_review import ReviewContext
from components.note_input import REOPEN_KEY, render_earlier_runs, render_note_input
from components.note_view import inject_css
from components.refine_panel import render_refine_panel
from components.run_panel import active_run, open_stored_run, run_coding, show_run_error
from components.safe_text import md_escape
from components.sidebar import base_settings, coder_name, current_settings, knowledge, open_store, render_sidebar
from components.workspace import render_workspace
from core.store.review import other_reviews
from core.strategies.refine import instant_settings, why_not_refinable
from core.strategies.runner import compose_accents

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def code_a_note() -> None:
    require_sign_in(page="Code a note")
    settings = current_settings()
    store = open_store(settings)
    st.title("Code a note")
    st.caption("Paste, upload or pick a note, run the coder, then review each code against its evidence.")

    note, earlier_runs = render_note_input(settings)
    run_col, again_col, info_col = st.columns([2, 2, 6], vertical_alignment="center")
    run_clicked = run_col.button("Code this note", key="run_coding", type="primary", width="stretch",
                                 disabled=not may("code"))
    rerun_clicked = again_col.button(
        "Run again", key="run_again", width="stretch", help="Recompute instead of reusing this session's result.",
        disabled=not may("code"),
    )
    # "Code this note" is always the instant path; a configured language model refines the result on request.
    refinable = not why_not_refinable(settings)
    info_col.caption(
        f"{settings.language.upper()} · strategy {settings.strategy} · instant (no language model)"
        + (f" · refine with {settings.backend}" + (f" {settings.model}" if settings.model else "")
           if refinable else "")
    )
    # Everything that comes and goes (progress, errors, notices) lives in this one container, so the results
    # below keep their place between reruns and open expanders stay open.
    with st.container(key="run_messages"):
        reopen = st.session_state.pop(REOPEN_KEY, None)
        if run_clicked or rerun_clicked:
            run_coding(note.text, note.source, instant_settings(settings), store, coder_name(), force=rerun_clicked)
        elif reopen is not None:
            open_stored_run(store, reopen, settings)
        with earlier_runs:  # drawn after this rerun's run is stored: it is listed at once
            render_earlier_runs(store)
        if show_run_error():
            return
        run = active_run()
        if run is None:
            return
        log_access("open_run", target=f"run #{run.run_id}", note_id=run.note_id, run_id=run.run_id)
        if run.note_text != compose_accents(note.text):  # the stored form of the note (accents composed)
            st.info(
                "The note was changed after this result was computed: press “Code this note” to code the new "
                "text. The result below belongs to the previous text."
            )
        changed = [name for name in ("language", "strategy")  # a backend refines on request: not a change
                   if getattr(run.settings, name) != getattr(settings, name)]
        if changed:
            st.info(
                "This result was coded with "
                + ", ".join(f"{name} {getattr(run.settings, name)}" for name in changed)
                + "; the sidebar now says "
                + ", ".join(f"{name} {getattr(settings, name)}" for name in changed)
                + ". Press “Code this note” to code it with the new settings."
            )
        if run.from_cache:
            st.caption(f"Result reused from this session (run #{run.run_id}); “Run again” recomputes it.")
        others = other_reviews(store, run.note_id, run.run_id, md_escape)
        if run.reopened:
            st.info(f"Reopened run #{run.run_id} as it was coded ({run.settings.language.upper()}, strategy "
                    f"{run.settings.strategy}, backend {run.settings.backend}): its codes and the decisions made on "
                    "it are below, and new decisions are added to it."
                    + (f" Other runs of this note were reviewed too ({'; '.join(others[-3:])})." if others else ""),
                    icon=":material/history:")
        elif others:
            st.info(
                f"This note was reviewed before ({'; '.join(others[-3:])}). Those decisions stay with their runs; "
                f"this run #{run.run_id} has its own. “Earlier runs” above reopens one; the Audit page shows them "
                "all.",
                icon=":material/history:",
            )
        fallbacks = [step for step in run.result.trace if step.fallback]
        if fallbacks:
            st.warning(
                "The language model was not used in "
                + "; ".join(f"**{step.step}** ({step.fallback})" for step in fallbacks)
                + ". The dictionary and rules produced these codes instead."
            )

    # A reopened run may name another embedding model; its review needs the tabular list and search only, so it
    # uses the knowledge base already loaded for the sidebar's settings rather than loading a second one.
    kb = knowledge(settings if run.reopened else run.settings)
    render_refine_panel(run, settings, store, kb, coder_name())
    render_workspace(ReviewContext(store, kb, run.run_id, run.note_text, run.result, store.current_state(run.run_id)))


def _page_title(path: Path) -> str:
    """``2_Code_browser.py`` → ``Code browser``."""
    stem = path.stem
    head, _, rest = stem.partition("_")
    return (rest if head.isdigit() and rest else stem).replace("_", " ")


def main() -> None:
    st.set_page_config(page_title="Clinical coding assistant", page_icon="🩺", layout="wide")
    inject_css()
    pages = [st.Page(code_a_note, title="Code a note", icon="📝", default=True)]
    try:
        base_settings()
    except ValueError as exc:  # coder.toml or a CODER_* variable holds a value the app cannot use
        st.error(f"The app's settings are invalid: {exc}. Fix coder.toml or the CODER_* environment variable and "
                 "restart. Nothing was changed.")
        st.stop()
    require_sign_in()  # before anything else is drawn: with accounts, only the sign-in form until then
    pages += [st.Page(str(path), title=_page_title(path)) for path in sorted(PAGES_DIR.glob("[0-9]*_*.py"))
              if page_allowed(_page_title(path))]
    navigation = st.navigation(pages)
    render_sidebar()
    navigation.run()


main()
