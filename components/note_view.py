"""The note with its evidence highlighted, and the "focus code" picker that emphasises one code's spans."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.highlight import LEGEND_HTML, NOTE_CSS, build_annotations, render_note_html
from core.schema import CodingResult

ALL_CODES = "(all codes)"


def inject_css() -> None:
    st.html(NOTE_CSS)


def render_highlighted_note(
    text: str,
    result: CodingResult,
    states: dict[str, str],
    added: list[dict[str, Any]],
    focus_options: list[str],
    focus_key: str,
    describe: Any = None,
) -> None:
    describe = describe or (lambda code: "")
    options = [ALL_CODES, *focus_options]
    if st.session_state.get(focus_key) not in options:
        st.session_state[focus_key] = ALL_CODES
    focus = st.selectbox(
        "Highlight the evidence of",
        options,
        key=focus_key,
        format_func=lambda code: code if code == ALL_CODES else f"{code} {describe(code)}".strip(),
    )
    annotations = build_annotations(text, result, states, added)
    html = render_note_html(text, annotations, None if focus == ALL_CODES else focus)
    st.markdown(LEGEND_HTML, unsafe_allow_html=True)
    st.markdown(html, unsafe_allow_html=True)
    st.caption("Hover a highlight for its codes; struck-through grey text is negated or otherwise not codable.")
