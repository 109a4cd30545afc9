"""Audit: who decided what and when, why each code was proposed, exports, the access log, and retraining from coder
decisions (the last for roles that may retrain)."""

from __future__ import annotations

import streamlit as st

from components.access_log_view import render_access_log
from components.audit_view import render_audit
from components.auth import may, require_sign_in
from components.retrain_panel import render_retrain_panel
from components.sidebar import current_settings, knowledge, open_store
from components.throughput_view import render_throughput
from core.store import store_location

require_sign_in(page="Audit")
st.title("Audit")
settings = current_settings()
st.caption(f"Decision store: `{store_location(settings.database_url)}` (append-only: decisions are never changed or "
           "deleted).")
store = open_store(settings)
render_audit(store, lambda code: knowledge(settings).tabular.description(code))  # the tabular list only, on demand
render_access_log(store)
render_throughput(store)
if may("retrain"):
    render_retrain_panel(store, settings)
