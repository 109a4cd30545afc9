"""The review workspace shared by the main page and the worklist: the note with its evidence highlighted on the
left, the codes to review on the right, the trace below. It draws a stored run; it never codes anything."""

from __future__ import annotations

import streamlit as st

from components.code_review import FOCUS_KEY, ReviewContext, focus_options, render_review
from components.note_view import render_highlighted_note
from components.trace_panels import render_mentions, render_trace
from core.store.review import added_codes


def render_workspace(ctx: ReviewContext) -> None:
    note_col, codes_col = st.columns([11, 9], gap="large")
    with note_col:
        st.markdown(f"#### Note · run #{ctx.run_id}")
        render_highlighted_note(
            ctx.note_text,
            ctx.result,
            ctx.states,
            added_codes(ctx.current_state, ctx.result),
            focus_options(ctx),
            FOCUS_KEY,
            ctx.kb.tabular.description,
        )
        render_mentions(ctx.result)
    with codes_col:
        render_review(ctx)
    render_trace(ctx.result)
