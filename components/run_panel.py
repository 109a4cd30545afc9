"""Running the pipeline from the page: live progress per step, a per-session cache, and saving the finished run.

The run is stored only after ``code_note`` returns. When the coder presses Stop or changes the input,
Streamlit stops the script inside the progress callback, before anything is written, so a stopped run leaves
no half-written rows behind.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import streamlit as st

from core.llm import BackendError
from core.schema import CodingResult
from core.settings import Settings, with_run_settings
from core.store import DecisionStore, StoreUnavailable
from core.strategies.runner import code_note, compose_accents, validate_note_text

RESULTS_KEY = "coding_results"  # (note sha256, settings) -> ActiveRun, this session only
ACTIVE_KEY = "active_run"
RUN_ERROR_KEY = "run_error"


@dataclass
class ActiveRun:
    run_id: int
    note_id: int
    note_text: str
    result: CodingResult
    settings: Settings
    finished_at: float = field(default_factory=time.time)
    from_cache: bool = False
    reopened: bool = False  # a stored run opened from "Earlier runs", not coded in this session


def cache_key(text: str, settings: Settings) -> tuple[str, Settings]:
    """The note's sha256 and every setting that can change the result (the coder's name cannot)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), settings.with_overrides(coder_name="")


def active_run() -> ActiveRun | None:
    return st.session_state.get(ACTIVE_KEY)


def _learned_terms(store: DecisionStore, settings: Settings) -> list[dict]:
    return store.learned_terms(settings.language) if settings.learn_from_decisions else []


def run_coding(
    text: str, source: str, settings: Settings, store: DecisionStore, user: str, force: bool = False
) -> None:
    """Code the note (or reuse this session's result), then store the run; errors are shown, never raised."""
    st.session_state.pop(RUN_ERROR_KEY, None)
    text = compose_accents(text)  # stored, coded and highlighted in this one form
    try:
        validate_note_text(text)
    except ValueError as exc:
        st.session_state[RUN_ERROR_KEY] = str(exc)
        return
    cache: dict[tuple[str, Settings], ActiveRun] = st.session_state.setdefault(RESULTS_KEY, {})
    key = cache_key(text, settings)
    if not force and key in cache:
        cached = cache[key]
        cached.from_cache = True
        st.session_state[ACTIVE_KEY] = cached
        return

    started = time.perf_counter()
    with st.status("Coding the note…", expanded=True) as status:

        def progress(step: str, message: str) -> None:
            elapsed = time.perf_counter() - started
            status.update(label=f"Coding the note… {step}")
            status.write(f"`{elapsed:5.1f}s` **{step}** — {message}")

        try:
            result = code_note(text, settings, learned_terms=_learned_terms(store, settings), progress=progress)
        except ValueError as exc:
            status.update(label="The note was not coded", state="error")
            st.session_state[RUN_ERROR_KEY] = str(exc)
            return
        except BackendError as exc:
            status.update(label="The language model backend is not available", state="error")
            st.session_state[RUN_ERROR_KEY] = (
                f"The {settings.backend} backend could not be used: {exc}. Start it, fix the address in the "
                "sidebar, or choose another backend (None runs the dictionary and rules only). "
                "Nothing was stored; your earlier decisions are unchanged."
            )
            return
        except Exception as exc:  # noqa: BLE001 - the coder gets a message, the details stay in the log
            status.update(label="The pipeline failed", state="error")
            st.session_state[RUN_ERROR_KEY] = (
                f"The pipeline failed ({type(exc).__name__}: {exc}). Nothing was stored; try backend None or "
                "another strategy, and report the problem with the note's source."
            )
            return
        # Only a finished result reaches the store.
        try:
            note_id = store.add_note(text, source, settings.language)
            run_id = store.save_run(note_id, result, settings.public_dict(), user=user)
        except StoreUnavailable as exc:
            status.update(label="The result was not stored", state="error")
            st.session_state[RUN_ERROR_KEY] = (f"The note was coded but not stored: {exc}. Your earlier decisions are "
                                               "unchanged.")
            return
        seconds = time.perf_counter() - started
        fallbacks = [t.step for t in result.trace if t.fallback]
        label = f"Coded in {seconds:.1f}s: {len(result.codes)} codes, {len(result.candidates)} candidates"
        if fallbacks:
            label += f" (fallback used in {', '.join(fallbacks)})"
        status.update(label=label, state="complete", expanded=False)
    run = ActiveRun(run_id, note_id, text, result, settings)
    cache[key] = run
    st.session_state[ACTIVE_KEY] = run


def open_stored_run(store: DecisionStore, run_id: int, settings: Settings) -> None:
    """Make a stored run the one on the page, as it was coded: its result, note and result-deciding settings.
    Nothing is coded again; decisions made now are added to that run."""
    st.session_state.pop(RUN_ERROR_KEY, None)
    try:
        stored = store.get_run(run_id)
        note = store.get_note(stored["note_id"])
        result = store.get_result(run_id)
    except ValueError as exc:  # a missing run, or a trace this version cannot read
        st.session_state[RUN_ERROR_KEY] = f"Run #{run_id} could not be opened: {exc}. Nothing was changed."
        return
    run_settings, unusable = with_run_settings(settings, stored["settings"])
    if unusable:
        st.warning(f"Run #{run_id} recorded settings this version cannot use ({', '.join(unusable)}); the "
                   "sidebar's values stand in for them.")
    run = ActiveRun(run_id, stored["note_id"], note["text"], result, run_settings, reopened=True)
    st.session_state.setdefault(RESULTS_KEY, {})[cache_key(note["text"], run_settings)] = run
    st.session_state[ACTIVE_KEY] = run


def show_run_error() -> bool:
    message = st.session_state.get(RUN_ERROR_KEY)
    if message:
        st.error(message, icon="🚫")
    return bool(message)
