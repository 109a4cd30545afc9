"""Evaluation: score the coder on a CodiEsp split, open and compare past runs, and see the coders' decision metrics.

Thin page: the work is in ``components/evaluation_view.py`` and ``core/eval_runs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:  # `streamlit run pages/4_Evaluation.py` on its own
    sys.path.insert(0, ROOT)

from components.evaluation_view import render_evaluation_page  # noqa: E402

st.set_page_config(page_title="Evaluation · Clinical coder", layout="wide")
render_evaluation_page()
