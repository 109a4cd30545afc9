"""Code browser: search the ICD-10-CM tabular list and alphabetical index; hierarchy and inherited notes."""

from __future__ import annotations

import streamlit as st

from components.auth import require_sign_in
from components.code_browser import render_code_browser
from components.sidebar import current_settings, knowledge

require_sign_in(page="Code browser")
st.title("Code browser")
st.caption(
    "Search the tabular list by code or words, or the alphabetical index by term; open a code to see its "
    "place in the hierarchy and every instructional note that applies to it."
)
settings = current_settings()
render_code_browser(knowledge(settings), settings.language)
