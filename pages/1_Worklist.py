"""Worklist: the queue of charts pre-coded by background workers, and the coder's open chart, reviewed from the
keyboard with Submit and next."""

from __future__ import annotations

import streamlit as st

from components.auth import require_sign_in
from components.sidebar import current_settings, open_store
from components.worklist_view import render_worklist

require_sign_in(page="Worklist")
st.title("Worklist")
st.caption("Charts are pre-coded by workers as they arrive (`python -m core worker`); start the next one and review "
           "it from the keyboard.")
settings = current_settings()
render_worklist(open_store(settings), settings)
