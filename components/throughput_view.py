"""Throughput on the Audit page: charts per hour and time per chart per coder, how the pre-coded codes were judged
per coder and per code source, the age of the queue, and charts submitted per hour (``core.worklist.throughput``)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.store import DecisionStore
from core.worklist.throughput import throughput

COLUMNS = {
    "median_min_per_chart": st.column_config.NumberColumn("median min / chart", format="%.1f"),
    "charts_per_hour_reviewing": st.column_config.NumberColumn("charts / h reviewing", format="%.1f"),
    "charts_per_hour_span": st.column_config.NumberColumn("charts / h over the span", format="%.1f"),
    "acceptance_rate": st.column_config.NumberColumn("acceptance", format="percent"),
    "edit_rate": st.column_config.NumberColumn("edit rate", format="percent"),
    "add_rate": st.column_config.NumberColumn("add rate", format="percent"),
}


def submitted_chart(frame: pd.DataFrame) -> alt.Chart:
    """Charts submitted per hour (UTC), stacked by coder."""
    return (
        alt.Chart(frame)
        .mark_bar(size=14)
        .encode(
            x=alt.X("hour:T", title="hour (UTC)"),
            y=alt.Y("charts:Q", title="charts submitted"),
            color=alt.Color("coder:N", title="coder"),
            tooltip=[alt.Tooltip("hour:T", format="%Y-%m-%d %H:00"), "coder", "charts"],
        )
        .properties(height=220)
    )


def render_throughput(store: DecisionStore) -> None:
    st.markdown("#### Worklist throughput")
    figures = throughput(store)
    queue = figures["queue"]
    if not figures["submitted"] and not queue["waiting"] and not any(queue["by_state"].values()):
        st.caption("No worklist charts yet: import charts (`python -m core worklist import PATH`) and review them on "
                   "the Worklist page.")
        return
    columns = st.columns(4)
    columns[0].metric("charts submitted", figures["submitted"])
    columns[1].metric("waiting (queued, coding, pre-coded)", queue["waiting"])
    columns[2].metric("oldest waiting", f"{queue['oldest_min']:.0f} min" if queue["oldest_min"] is not None else "—")
    columns[3].metric("median wait", f"{queue['median_min']:.0f} min" if queue["median_min"] is not None else "—")
    st.caption("Time per chart runs from Start next chart to its submission. Charts per hour: while reviewing (the "
               "sum of those times) and over the span from a coder's first start to last submission. Rates are over "
               "each code's final decision: acceptance and edit rates of decided suggestions; add rate: codes the "
               "coder added among the codes they kept.")
    st.dataframe(figures["per_coder"], hide_index=True, width="stretch", column_config=COLUMNS, key="tp_coders")
    st.markdown("**Per code source** (where the pipeline says the code came from: dictionary, ranker, index, a "
                "language-model step; `(coder)`: codes coders added)")
    st.dataframe(figures["per_source"], hide_index=True, width="stretch", column_config=COLUMNS, key="tp_sources")
    if not figures["over_time"].empty:
        st.altair_chart(submitted_chart(figures["over_time"]), width="stretch")
