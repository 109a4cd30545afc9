"""Decision metrics: how coders judged the suggestions (from the decision store, via ``core.evaluation.decision_metrics``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.eval_charts import activity_chart, count_bars, outcome_bars
from core.evaluation import decision_metrics
from core.evaluation.metrics import CHAPTER_TITLES, chapter_of
from core.settings import Settings
from core.store import DecisionStore, store_exists, store_location

GROUPINGS = {"step": "per_step", "chapter": "per_chapter", "coder": "per_coder", "day": "per_day"}
GROUP_COLUMN = {"step": "step", "chapter": "chapter", "coder": "user", "day": "day"}


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "–"


def load_decision_summary(settings: Settings, user: str | None = None) -> dict[str, Any] | None:
    """``decision_metrics.compute`` over the settings' store; None when the store file does not exist yet."""
    url = settings.database_url
    if not store_exists(url):
        return None
    store = DecisionStore(url)
    filters = {"user": user} if user else {}
    return decision_metrics.compute(store, chapter_of, **filters)


def render_decision_metrics(settings: Settings) -> None:
    st.caption(f"From the decision store `{store_location(settings.database_url)}`. Only each code's final decision "
               "counts.")
    try:
        summary = load_decision_summary(settings)
    except Exception as exc:  # a broken or unreachable store must not break the evaluation page
        st.warning(f"The decision store could not be read: {exc}")
        return
    if summary is None or not summary["n_decisions"]:
        st.info("No coder decisions recorded yet: accept, reject, edit or add codes in the coding workspace, "
                "and their metrics appear here.")
        return
    users = sorted(u for u in summary["finals"]["user"].unique() if u)
    if len(users) > 1:
        user = st.selectbox("Coder", ["(all coders)", *users], key="eval_decisions_user")
        if user != "(all coders)":
            summary = load_decision_summary(settings, user) or summary

    edits = summary["edit_summary"]
    columns = st.columns(5)
    columns[0].metric("decisions", summary["n_decisions"])
    columns[1].metric("codes decided", summary["n_final"])
    columns[2].metric("precision (codes)", _percent(summary["precision"]),
                      help="accepted / decided, over the pipeline's confident codes")
    columns[3].metric("coder recall", _percent(summary["coder_recall"]),
                      help="share of the coders' final codes that were suggested exactly")
    columns[4].metric("edits in same category", f"{edits['same_category']} / {edits['edits']}")

    acceptance = pd.DataFrame.from_dict(summary["acceptance"], orient="index").rename_axis("suggested as")
    if "undecided" in summary:
        acceptance["undecided"] = pd.Series(summary["undecided"])
    st.markdown("**Acceptance by suggestion status**")
    st.dataframe(acceptance.reset_index(), hide_index=True, width="stretch")

    st.markdown("**Outcomes by group**")
    grouping = st.radio("Group by", list(GROUPINGS), horizontal=True, key="eval_decisions_group")
    frame: pd.DataFrame = summary[GROUPINGS[grouping]]
    column = GROUP_COLUMN[grouping]
    if grouping == "chapter" and not frame.empty:
        frame = frame.assign(title=[CHAPTER_TITLES.get(str(c), "") for c in frame["chapter"]])
        frame = frame.sort_values("chapter", key=lambda s: s.map(lambda c: int(c) if str(c).isdigit() else 999))
    if frame.empty:
        st.info("Nothing to group yet.")
    else:
        st.altair_chart(outcome_bars(frame, column), width="stretch")
        st.dataframe(frame, hide_index=True, width="stretch")

    left, right = st.columns(2)
    with left:
        st.markdown("**Rejection reasons**")
        reasons = summary["rejection_reasons"]
        if reasons.empty:
            st.caption("No rejections.")
        else:
            st.altair_chart(count_bars(reasons, "reason", title="rejections", colour="#c62828"), width="stretch")
    with right:
        st.markdown("**Codes coders added (misses)**")
        added = summary["added_codes"]
        if added.empty:
            st.caption("No added codes.")
        else:
            st.altair_chart(count_bars(added.head(25), "code", title="times added", colour="#1565c0"),
                            width="stretch")

    st.markdown("**Edits (suggested → chosen code)**")
    if summary["edits"].empty:
        st.caption("No edits.")
    else:
        st.dataframe(summary["edits"], hide_index=True, width="stretch")

    activity = summary["activity_per_day"]
    if not activity.empty:
        st.markdown("**Decisions per day**")
        st.altair_chart(activity_chart(activity), width="stretch")
