"""Retrain the ranker from coder decisions (Audit page): submitted charts per language, a retrain button with
progress, the before/after table on the evaluation split, and a button that puts the previous model back.

All the work is in :mod:`core.training.retrain`; this module only renders. Errors are shown with ``st.error``.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import streamlit as st

from components.auth import record
from components.sidebar import LANGUAGE_LABELS, knowledge
from core.kb.knowledge import get_knowledge
from core.progress import Meter
from core.settings import LANGUAGES, Settings
from core.store import DecisionStore
from core.training.retrain import (
    RetrainError,
    RetrainReport,
    previous_ranker_info,
    restore_previous_ranker,
    retrain_from_decisions,
    submitted_chart_counts,
)

log = logging.getLogger(__name__)
REPORT_KEY = "retrain_report"  # session key: the last report, as RetrainReport.to_dict()
FLASH_KEY = "retrain_flash"  # session key: a success message to show once after a restore
EVAL_SPLIT = "dev"


def _code(text: str) -> str:
    """Text safe inside a Markdown code span."""
    return text.replace("`", "'")


def _signed(value: float) -> str:
    arrow = "▲" if value > 0 else "▼" if value < 0 else "="
    return f"{arrow} {value:+.4f}"


def _delta_colour(text: Any) -> str:
    if isinstance(text, str) and text.startswith("▲"):
        return "color: #1a7f37"
    if isinstance(text, str) and text.startswith("▼"):
        return "color: #cf222e"
    return ""


def metrics_frame(report: RetrainReport) -> pd.DataFrame:
    """metric, before, after, change (signed, with an arrow)."""
    return pd.DataFrame(
        [{"metric": row["metric"], "before": row["before"], "after": row["after"], "change": _signed(row["delta"])}
         for row in report.table()]
    )


def render_report(report: RetrainReport) -> None:
    st.markdown(
        f"**Before / after on {report.eval_split}** ({report.n_eval_cases} cases, {report.language}; ranker strategy, "
        f"no LLM; both trained on {'+'.join(report.train_splits)}, *after* also on "
        f"{report.decision_notes_used} coder charts)"
    )
    frame = metrics_frame(report)
    styled = frame.style.format({"before": "{:.4f}", "after": "{:.4f}"}).map(_delta_colour, subset=["change"])
    st.dataframe(styled, hide_index=True, width="stretch", key="retrain_table")
    f1 = report.deltas().get("full-code F1", 0.0)
    verdict = "helped" if f1 > 0 else "made it worse" if f1 < 0 else "did not change"
    st.markdown(f"On {report.eval_split}, the coders' feedback **{verdict}** full-code F1 ({f1:+.4f}).")
    excluded = (f"; {report.n_excluded} left out because their text is a {report.eval_split} case (no leakage)"
                if report.n_excluded else "")
    st.caption(
        f"Decision notes: {report.decision_notes_used} of {report.decision_notes} submitted charts used{excluded}. "
        f"Before: `{report.before.model.name}` · after: `{report.after.model.name}`."
    )
    previous = f"; the model it replaced (`{report.previous.name}`) is kept" if report.previous else ""
    st.caption(
        f"The app now uses `{report.active.name}` (trained on {'+'.join(report.active_splits)} and the coder charts), "
        f"saved at `{_code(report.active.path or '')}`{previous}. "
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in report.timings_s.items())
    )
    errors = report.before.n_errors + report.after.n_errors
    if errors:
        st.warning(f"{errors} case(s) failed while scoring and count as empty predictions.")


def _retrain(settings: Settings, store: DecisionStore, limit: int | None) -> None:
    bar = st.progress(0.0, text="Starting…")

    meter = Meter()

    def progress(step: str, message: str, done: float | None = None, total: float | None = None) -> None:
        meter.update(done, total)
        bar.progress(meter.fraction or 0.0, text=f"{message} ({meter.describe()})")

    try:
        with st.spinner("Retraining the ranker and scoring it before and after (minutes on the full CodiEsp dev split)…"):
            kb = knowledge(settings)
            report = retrain_from_decisions(kb, settings, store, eval_split=EVAL_SPLIT, limit=limit, progress=progress)
    except RetrainError as exc:
        bar.empty()
        st.error(str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - shown to the coder, never a traceback; the active model is unchanged
        log.exception("retraining from decisions failed")
        bar.empty()
        st.error(f"Retraining failed ({type(exc).__name__}: {exc}). The model in use was not changed.")
        return
    bar.empty()
    record("retrain", target=f"ranker {settings.language}", detail=report.active.name)
    st.session_state[REPORT_KEY] = report.to_dict()


def _restore(settings: Settings, language: str) -> None:
    try:
        info = restore_previous_ranker(get_knowledge(settings), language)
    except RetrainError as exc:
        st.error(str(exc))
        return
    except OSError as exc:
        st.error(f"Could not restore the previous model: {exc}")
        return
    st.session_state.pop(REPORT_KEY, None)
    record("restore_model", target=f"ranker {language}", detail=info.name)
    st.session_state[FLASH_KEY] = f"Restored `{info.name}`; the model it replaced is now the previous one."
    st.rerun()


def render_retrain_panel(store: DecisionStore, settings: Settings) -> None:
    """The "Retrain from coder decisions" section."""
    st.divider()
    st.markdown("#### Retrain from coder decisions")
    st.caption(
        "Submitted charts become training notes for the ranker (the model behind the 'ranker' strategy). The change "
        f"is measured on the CodiEsp {EVAL_SPLIT} split: the ranker trained without your charts (*before*) against the "
        "same ranker trained with them (*after*). Then the app's model is retrained with them; the model it replaces "
        "is kept and can be restored."
    )
    counts = submitted_chart_counts(store)
    st.markdown(
        "Submitted charts: " + " · ".join(f"{LANGUAGE_LABELS.get(lang, lang)} **{counts.get(lang, 0)}**"
                                          for lang in LANGUAGES)
    )
    left, right = st.columns(2)
    language = left.selectbox(
        "Language", LANGUAGES, index=list(LANGUAGES).index(settings.language) if settings.language in LANGUAGES else 0,
        key="retrain_language", format_func=lambda lang: LANGUAGE_LABELS.get(lang, lang),
    )
    limit = right.number_input(f"{EVAL_SPLIT} cases to score (0 = all)", min_value=0, value=0, step=50,
                               key="retrain_limit")
    run_settings = settings.with_overrides(language=language)
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    if st.button("Retrain from coder decisions", key="retrain_run", type="primary"):
        _retrain(run_settings, store, int(limit) or None)
    saved = st.session_state.get(REPORT_KEY)
    if saved and saved.get("language") == language:
        try:
            render_report(RetrainReport.from_dict(saved))
        except (KeyError, TypeError) as exc:  # a report from an older version of this panel
            st.session_state.pop(REPORT_KEY, None)
            st.caption(f"The last report could not be shown ({exc}).")
    previous = previous_ranker_info(get_knowledge(run_settings), language)
    if previous is not None:
        st.caption(f"Previous {language} model: `{previous.name}` ({', '.join(previous.trained_on)}).")
        if st.button("Restore previous model", key="retrain_restore"):
            _restore(run_settings, language)
