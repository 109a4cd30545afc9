"""Where the note comes from: pasted text, an uploaded .txt file, a bundled sample, a CodiEsp case, or an earlier
run reopened to go on with its review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.sidebar import LANGUAGE_KEY
from core.datasets.note_io import (
    codiesp_case_ids,
    codiesp_splits,
    decode_note_bytes,
    list_samples,
    load_codiesp_case,
)
from core.settings import LANGUAGES, Settings
from core.store import DecisionStore, StoreUnavailable

NOTE_TEXT_KEY = "note_text"
NOTE_SOURCE_KEY = "note_source"
NOTE_NOTICE_KEY = "note_notice"  # (level, message) about the last load: encoding fallback, refused file ...
UPLOAD_KEY = "note_upload"
SAMPLE_KEY = "sample_choice"
CODIESP_SPLIT_KEY = "codiesp_split"
CODIESP_CASE_KEY = "codiesp_case"
EARLIER_RUN_KEY = "earlier_run_choice"
REOPEN_KEY = "reopen_run"  # run id the coder asked to reopen; the main page opens it on this rerun
RECENT_RUNS = 50


@dataclass(frozen=True)
class NoteInput:
    text: str
    source: str  # "pasted", "upload:<file>", "sample:<name>", "codiesp:<split>/<case>"


def _set_note(text: str, source: str, notice: tuple[str, str] | None = None, language: str | None = None) -> None:
    st.session_state[NOTE_TEXT_KEY] = text
    st.session_state[NOTE_SOURCE_KEY] = source
    st.session_state[NOTE_NOTICE_KEY] = notice
    if language:
        st.session_state[LANGUAGE_KEY] = language  # callbacks run before the sidebar is drawn: allowed


def _on_text_edit() -> None:
    st.session_state[NOTE_SOURCE_KEY] = "pasted"
    st.session_state[NOTE_NOTICE_KEY] = None


def _on_upload() -> None:
    uploaded = st.session_state.get(UPLOAD_KEY)
    if uploaded is None:
        return
    try:
        decoded = decode_note_bytes(uploaded.getvalue(), uploaded.name)
    except ValueError as exc:
        st.session_state[NOTE_NOTICE_KEY] = ("error", str(exc))
        return
    notice = ("warning", decoded.notice) if decoded.notice else ("success", f"Loaded {uploaded.name}.")
    _set_note(decoded.text, f"upload:{uploaded.name}", notice)


def _on_sample() -> None:
    name = st.session_state.get(SAMPLE_KEY)
    sample = next((s for s in list_samples() if s.name == name), None)
    if sample is None:
        return
    language_changed = st.session_state.get(LANGUAGE_KEY) != sample.language
    notice = (
        ("info", f"Language switched to {sample.language.upper()} to match the sample.") if language_changed else None
    )
    _set_note(sample.read(), f"sample:{sample.name}", notice, sample.language)


def _on_codiesp(settings: Settings, language: str) -> None:
    split = st.session_state.get(CODIESP_SPLIT_KEY)
    case_id = st.session_state.get(CODIESP_CASE_KEY)
    if not split or not case_id:
        return
    try:
        text = load_codiesp_case(settings, split, language, case_id)
    except (OSError, UnicodeDecodeError) as exc:
        st.session_state[NOTE_NOTICE_KEY] = ("error", f"Could not read CodiEsp case {case_id}: {exc}")
        return
    _set_note(text, f"codiesp:{split}/{case_id}", None)


def _on_reopen(store: DecisionStore) -> None:
    """Load the run's note into the editor (and its language into the sidebar) once the run is known to open;
    the main page then shows the run. A run that cannot be opened leaves the editor as it was."""
    run_id = st.session_state.get(EARLIER_RUN_KEY)
    if run_id is None:
        return
    try:
        run = store.get_run(run_id)
        note = store.get_note(run["note_id"])
        store.get_result(run_id)  # the stored trace must still read as a result
    except (ValueError, StoreUnavailable) as exc:
        st.session_state[NOTE_NOTICE_KEY] = ("error", f"Run #{run_id} could not be opened: {exc}. Nothing was "
                                                      "changed.")
        return
    language = run["settings"].get("language") or note["language"]
    _set_note(note["text"], note["source"] or "pasted", None, language if language in LANGUAGES else None)
    st.session_state[REOPEN_KEY] = run_id


def run_label(run: dict) -> str:
    """"#12 · 2026-11-24 08:01:33 · ES ranker/none · 3 decisions · chart submitted · Paciente de 45 años…"."""
    preview = run["note_preview"]
    preview = preview[:45] + "…" if len(preview) > 45 else preview
    chart = "chart submitted" if run["n_submissions"] else "no chart"
    return (f"#{run['id']} · {str(run['created_at'])[:19].replace('T', ' ')} · {run['language'].upper()} "
            f"{run['strategy']}/{run['backend']} · {run['n_decisions']} decision(s) · {chart} · {preview}")


def render_earlier_runs(store: DecisionStore) -> None:
    runs = store.recent_runs(RECENT_RUNS)
    if not runs:
        st.caption("No coded notes yet: runs you code appear here, to come back to their review.")
        return
    labels = {run["id"]: run_label(run) for run in runs}
    st.selectbox("Run", list(labels), key=EARLIER_RUN_KEY, format_func=labels.get)
    st.button("Open run", key="open_run", on_click=_on_reopen, args=(store,))
    st.caption(f"The {len(runs)} newest runs; the Audit page lists every run. Reopening does not code again.")


def _sample_picker() -> None:
    samples = list_samples()
    if not samples:
        st.caption("No sample notes found in data/samples/.")
        return
    titles = {s.name: s.title for s in samples}
    st.selectbox("Sample note (invented, no real patients)", list(titles), key=SAMPLE_KEY, format_func=titles.get)
    st.button("Load sample", key="load_sample", on_click=_on_sample)


def _codiesp_picker(settings: Settings) -> None:
    splits = codiesp_splits(settings)
    if not splits:
        st.caption(f"CodiEsp not found under {settings.data_dir} (set data_dir / codiesp_dir).")
        return
    language = settings.language
    split = st.selectbox("Split", splits, key=CODIESP_SPLIT_KEY)
    case_ids = codiesp_case_ids(settings, split, language)
    if not case_ids:
        st.caption(f"No {language.upper()} texts in split {split}.")
        return
    st.selectbox(f"Case ({len(case_ids)} in {split}, {language.upper()})", case_ids, key=CODIESP_CASE_KEY)
    st.button("Load case", key="load_codiesp", on_click=_on_codiesp, args=(settings, language))
    st.caption("CodiEsp (CLEF eHealth 2020, CC BY 4.0). English texts are machine translations.")


def render_note_input(settings: Settings) -> tuple[NoteInput, Any]:
    """The note editor with its loaders; returns the text currently in the editor and the "Earlier runs" tab, which
    the page fills (``render_earlier_runs``) once this rerun's coding is stored, so a new run is listed at once."""
    st.session_state.setdefault(NOTE_TEXT_KEY, "")
    st.session_state.setdefault(NOTE_SOURCE_KEY, "pasted")
    paste_col, load_col = st.columns([3, 2], gap="medium")
    with load_col:
        upload_tab, sample_tab, codiesp_tab, earlier_tab = st.tabs(["Upload .txt", "Samples", "CodiEsp",
                                                                    "Earlier runs"])
        with upload_tab:
            st.file_uploader(
                "Plain-text note (UTF-8 preferred)",
                type=["txt"],
                key=UPLOAD_KEY,
                on_change=_on_upload,
                help="Read on this machine only. Other encodings are detected; binary files are refused.",
            )
        with sample_tab:
            _sample_picker()
        with codiesp_tab:
            _codiesp_picker(settings)
    with paste_col:
        st.text_area(
            "Clinical note",
            key=NOTE_TEXT_KEY,
            height=260,
            on_change=_on_text_edit,
            placeholder="Paste a discharge summary or clinical note here, or load one on the right.",
        )
        notice = st.session_state.get(NOTE_NOTICE_KEY)
        if notice:
            level, message = notice
            {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(message)
    return NoteInput(st.session_state[NOTE_TEXT_KEY], st.session_state[NOTE_SOURCE_KEY]), earlier_tab
