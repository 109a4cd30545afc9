"""Audit: who decided what and when, why each code was proposed, and exports of decisions and submissions."""

from __future__ import annotations

import streamlit as st

from components.audit_view import render_audit
from components.sidebar import current_settings
from core.store import DecisionStore

st.title("Audit")
settings = current_settings()
st.caption(f"Decision store: `{settings.database_url}` (append-only: decisions are never changed or deleted).")
render_audit(DecisionStore(settings.database_url))
