"""Evaluation: score the coder on a CodiEsp split, open and compare past runs, and see the coders' decision metrics.

Thin page: the work is in ``components/evaluation_view.py`` (UI) and ``core/evaluation/runs.py`` (run folders).
"""

from __future__ import annotations

from components.auth import require_sign_in
from components.evaluation_view import render_evaluation_page

require_sign_in(page="Evaluation")
render_evaluation_page()
