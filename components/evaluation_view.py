"""The evaluation page: past runs and their metrics, new runs, run comparison, per-case drill-down, and the
coders' decision metrics. The page file only calls :func:`render_evaluation_page`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from components.eval_case_view import render_case_drilldown
from components.eval_charts import (
    chapter_recall_chart,
    compare_chart,
    latency_chart,
    prf_chart,
    seen_unseen_chart,
    step_recall_chart,
)
from components.eval_decisions import render_decision_metrics
from components.eval_runner import FLASH_MESSAGE, OPEN_RUN_REQUEST, render_new_run_form, render_resume_button
from components.sidebar import current_settings, knowledge
from core.evaluation.plan import codiesp_root, run_cases
from core.evaluation.runs import (
    LoadedRun,
    RunSummary,
    default_runs_root,
    headline_metrics,
    list_runs,
    load_run,
    runs_frame,
)
from core.evaluation.views import (
    chapter_recall_frame,
    compare_runs,
    latency_table,
    prf_frame,
    seen_unseen_frame,
    step_latency_frame,
    step_recall_frame,
)
from core.settings import Settings

RUN_KEY = "eval_run"


def _describer(settings: Settings) -> Callable[[str], str] | None:
    """Code -> ICD-10-CM description, when the tabular list can be loaded."""
    try:
        tabular = knowledge(settings).tabular
    except Exception:  # descriptions are a nicety; the drill-down works without them
        return None
    return tabular.description


def headline_table(run: LoadedRun) -> pd.DataFrame:
    values = headline_metrics(run.metrics)
    return pd.DataFrame([{"metric": k, "value": v} for k, v in values.items() if v is not None])


def _run_picker(summaries: list[RunSummary], label: str, key: str, default: int = 0) -> RunSummary:
    names = [s.name for s in summaries]
    labels = {s.name: s.label() for s in summaries}
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    # A value already in the session (picked before, or asked for by a finished run) wins over the default.
    index = 0 if key in st.session_state else min(default, len(names) - 1)
    choice = st.selectbox(label, names, index=index, key=key, format_func=lambda name: labels.get(name, name))
    return summaries[names.index(choice)]


def render_run_results(run: LoadedRun, settings: Settings) -> None:
    meta = run.settings
    st.caption(
        f"`{run.folder}` · split **{run.split or '?'}** ({run.language}) · strategy **{run.summary.strategy}** · "
        f"backend **{run.summary.backend}**{' · model ' + str(meta['model']) if meta.get('model') else ''} · "
        f"dictionary learned from: {', '.join(meta.get('train_splits') or []) or '(no CodiEsp split)'}"
    )
    resumable = not run.summary.has_metrics or run.summary.partial
    if not run.summary.has_metrics:
        st.warning(f"This run stopped before writing its metrics ({len(run.predictions)} cases finished).")
    elif run.summary.partial:
        st.warning(
            f"Partial run: {run.summary.n_cases} of {run.summary.n_total} cases finished; metrics cover the "
            "finished cases only."
        )
    if resumable and codiesp_root(settings) is not None:
        render_resume_button(run, settings)
    metrics = run.metrics
    if not metrics:
        return
    if metrics.get("n_errors"):
        st.error(f"{metrics['n_errors']} case(s) failed and were scored as empty predictions (see the drill-down).")
    if not metrics.get("labeled", True):
        st.info("This split has no gold codes: only counts and latencies are reported.")

    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Headline metrics**")
        st.dataframe(
            headline_table(run),
            hide_index=True,
            width="stretch",
            column_config={"value": st.column_config.NumberColumn(format="%.4f")},
        )
    with right:
        prf = prf_frame(metrics)
        if not prf.empty:
            st.markdown("**Precision / recall / F1: full code vs category**")
            st.altair_chart(prf_chart(prf))

    steps, chapters, seen = step_recall_frame(metrics), chapter_recall_frame(metrics), seen_unseen_frame(metrics)
    left, right = st.columns(2)
    with left:
        if not steps.empty:
            st.markdown("**Per-step recall** (gold codes still present after each step)")
            st.altair_chart(step_recall_chart(steps), width="stretch")
    with right:
        if not seen.empty:
            st.markdown("**Codes seen vs unseen in the training splits**")
            st.altair_chart(seen_unseen_chart(seen))
        elif metrics.get("labeled", True):
            st.caption("Seen/unseen: no training split was available for this run.")
    if not chapters.empty:
        st.markdown("**Recall per ICD-10 chapter**")
        st.altair_chart(chapter_recall_chart(chapters), width="stretch")

    st.markdown("**Latency per step** (ms; *fell back*: cases where the step's LLM answer was not used)")
    latencies = step_latency_frame(run)
    left, right = st.columns([1, 2])
    left.dataframe(
        latency_table(metrics),
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("p50", "p95", "mean", "max")},
    )
    if metrics.get("warm_up_ms") is not None:
        left.caption(f"Loading the knowledge base and models took {metrics['warm_up_ms'] / 1000:.1f} s before the "
                     "first case; it is not in these latencies.")
    if not latencies.empty:
        right.altair_chart(latency_chart(latencies), width="stretch")


def render_results_tab(summaries: list[RunSummary], settings: Settings, runs_root: Path) -> None:
    if not summaries:
        st.info(f"No evaluation runs yet under `{runs_root}`. Start one in the **New run** tab.")
        return
    with st.expander(f"All runs ({len(summaries)})", expanded=False):
        st.dataframe(runs_frame(summaries), hide_index=True, width="stretch")
    summary = _run_picker(summaries, "Run", RUN_KEY)
    try:
        run = load_run(summary.folder)
    except (FileNotFoundError, OSError) as exc:
        st.error(f"Cannot open {summary.folder}: {exc}")
        return
    render_run_results(run, settings)

    st.subheader("Cases")
    cases = run_cases(run, settings)
    render_case_drilldown(run, cases, _describer(settings) if cases else None)


def render_compare_tab(summaries: list[RunSummary]) -> None:
    comparable = [s for s in summaries if s.has_metrics]
    if len(comparable) < 2:
        st.info("Comparing needs two runs with metrics.")
        return
    left, right = st.columns(2)
    with left:
        first = _run_picker(comparable, "Run A", "eval_compare_a", default=1)
    with right:
        second = _run_picker(comparable, "Run B", "eval_compare_b", default=0)
    run_a, run_b = load_run(first.folder), load_run(second.folder)
    table = compare_runs(run_a, run_b)
    label_a, label_b = table.columns[1], table.columns[2]
    st.caption(f"A = `{first.name}`, B = `{second.name}`; delta = B − A.")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns[1:]},
    )
    st.altair_chart(compare_chart(table, label_a, label_b), width="stretch")


def render_evaluation_page() -> None:
    st.title("Evaluation")
    settings = current_settings()  # the sidebar's language / strategy / backend are the new-run defaults
    runs_root = default_runs_root(settings)
    request = st.session_state.pop(OPEN_RUN_REQUEST, None)
    if request:
        st.session_state[RUN_KEY] = request
    summaries = list_runs(runs_root)
    flash = st.session_state.pop(FLASH_MESSAGE, None)
    if flash:
        st.success(flash)
    if codiesp_root(settings) is None:
        st.info(
            f"CodiEsp data not found at `{settings.resolve(settings.codiesp_dir)}`: new runs are off; past "
            "runs and decision metrics still work."
        )

    results, new_run, compare, decisions = st.tabs(["Results", "New run", "Compare runs", "Decision metrics"])
    with results:
        try:
            render_results_tab(summaries, settings, runs_root)
        except (KeyError, TypeError, ValueError) as exc:  # a hand-edited or foreign metrics.json / predictions file
            st.error(f"This run's files could not be read ({type(exc).__name__}: {exc}). The other tabs still work; "
                     "pick another run, or resume or re-run this one.")
    with new_run:
        render_new_run_form(settings, runs_root)
    with compare:
        try:
            render_compare_tab(summaries)
        except (KeyError, TypeError, ValueError) as exc:
            st.error(f"A run's files could not be read ({type(exc).__name__}: {exc}): pick other runs to compare.")
    with decisions:
        render_decision_metrics(settings)
