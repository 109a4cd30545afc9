"""Altair charts for the evaluation page, built from the long-format frames of ``core.evaluation.runs`` and
``core.evaluation.decision_metrics``. Pure functions (no Streamlit), so they can be built and checked in tests."""

from __future__ import annotations

import altair as alt
import pandas as pd

OUTCOME_COLOURS = {"accepted": "#2e7d32", "rejected": "#c62828", "edited": "#ef6c00", "added": "#1565c0"}
SCORE_SCALE = alt.Scale(domain=[0, 1])
# Charts with a discrete y axis size themselves per row (alt.Step): a fixed height in Streamlit includes the axes,
# which squeezes a few rows into a few pixels.


def prf_chart(frame: pd.DataFrame) -> alt.Chart:
    """Grouped bars: P / R / F1 at full-code vs category level, one panel per average (micro, macro)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("measure:N", sort=["P", "R", "F1"], title=None),
            xOffset=alt.XOffset("level:N", sort=["full code", "category"]),
            y=alt.Y("value:Q", scale=SCORE_SCALE, title="score"),
            color=alt.Color("level:N", sort=["full code", "category"], title="level"),
            column=alt.Column("average:N", sort=["micro", "macro"], title=None),
            tooltip=["average", "level", "measure", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=220, height=220)
    )


def step_recall_chart(frame: pd.DataFrame) -> alt.Chart:
    """Funnel: share of gold codes still present after each step, steps top to bottom in pipeline order."""
    order = list(frame.sort_values("order")["step"])
    base = alt.Chart(frame).encode(
        y=alt.Y("step:N", sort=order, title=None),
        x=alt.X("recall:Q", scale=SCORE_SCALE, title="gold codes kept (recall)"),
        tooltip=["step", alt.Tooltip("recall:Q", format=".3f")],
    )
    return (
        base.mark_bar(color="#4c78a8")
        + base.mark_text(align="left", dx=3).encode(text=alt.Text("recall:Q", format=".2f"))
    ).properties(height=alt.Step(32))


def chapter_recall_chart(frame: pd.DataFrame) -> alt.Chart:
    """Recall per ICD-10 chapter; the tooltip gives the chapter title and gold counts."""
    chapters = list(frame["chapter"])
    return (
        alt.Chart(frame)
        .mark_bar(color="#72b7b2")
        .encode(
            x=alt.X("chapter:N", sort=chapters, title="ICD-10 chapter"),
            y=alt.Y("recall:Q", scale=SCORE_SCALE),
            tooltip=["chapter", "title", "gold", "tp", alt.Tooltip("recall:Q", format=".3f")],
        )
        .properties(height=240)
    )


def seen_unseen_chart(frame: pd.DataFrame) -> alt.Chart:
    """P / R / F1 of codes seen vs unseen in the training splits."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("measure:N", sort=["P", "R", "F1"], title=None),
            xOffset=alt.XOffset("group:N", sort=["seen", "unseen"]),
            y=alt.Y("value:Q", scale=SCORE_SCALE, title="score"),
            color=alt.Color("group:N", sort=["seen", "unseen"], title="code in training"),
            tooltip=["group", "measure", alt.Tooltip("value:Q", format=".3f"), "n_gold", "n_pred"],
        )
        .properties(width=260, height=220)
    )


def latency_chart(frame: pd.DataFrame) -> alt.Chart:
    """Distribution of per-case durations per step (box plot, log scale: steps differ by orders of magnitude)."""
    steps = list(dict.fromkeys(frame["step"]))
    positive = frame[frame["ms"] > 0]
    return (
        alt.Chart(positive)
        .mark_boxplot(extent="min-max")
        .encode(
            y=alt.Y("step:N", sort=steps, title=None),
            x=alt.X("ms:Q", scale=alt.Scale(type="log"), title="duration per case (ms, log scale)"),
            color=alt.Color("step:N", sort=steps, legend=None),
        )
        .properties(height=alt.Step(36))
    )


def compare_chart(frame: pd.DataFrame, label_a: str, label_b: str) -> alt.Chart:
    """Grouped bars of the 0..1 metrics of two runs (latencies and counts left out)."""
    scores = frame[~frame["metric"].str.contains(r"latency|cases|errors", regex=True)]
    long = scores.melt(id_vars="metric", value_vars=[label_a, label_b], var_name="run", value_name="value").dropna()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("metric:N", sort=list(scores["metric"]), title=None),
            yOffset=alt.YOffset("run:N", sort=[label_a, label_b]),
            x=alt.X("value:Q", scale=SCORE_SCALE, title="score"),
            color=alt.Color("run:N", sort=[label_a, label_b]),
            tooltip=["metric", "run", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=alt.Step(11))  # per bar: two bars per metric
    )


# --------------------------------------------------------------------------- decision metrics


def outcome_bars(frame: pd.DataFrame, by: str) -> alt.Chart:
    """Stacked bars of accepted / rejected / edited / added counts per value of ``by`` (step, chapter, user, day)."""
    columns = [c for c in OUTCOME_COLOURS if c in frame.columns]
    long = frame.melt(id_vars=[by], value_vars=columns, var_name="outcome", value_name="count")
    long = long[long["count"] > 0]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X(f"{by}:N", title=by, sort=list(frame[by].astype(str))),
            y=alt.Y("count:Q", stack="zero", title="final decisions", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=list(OUTCOME_COLOURS), range=list(OUTCOME_COLOURS.values())),
            ),
            tooltip=[by, "outcome", "count"],
        )
        .properties(height=240)
    )


def count_bars(frame: pd.DataFrame, category: str, *, title: str, colour: str = "#4c78a8") -> alt.Chart:
    """Horizontal bars of ``count`` per ``category`` value (rejection reasons, added codes), largest first."""
    return (
        alt.Chart(frame)
        .mark_bar(color=colour)
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X("count:Q", title=title, axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[category, "count"],
        )
        .properties(height=alt.Step(24))
    )


def activity_chart(frame: pd.DataFrame) -> alt.Chart:
    """Every decision per day, stacked by action."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:N", title="day (UTC)"),
            y=alt.Y("count:Q", stack="zero", title="decisions"),
            color=alt.Color("action:N"),
            tooltip=["day", "action", "count"],
        )
        .properties(height=220)
    )
