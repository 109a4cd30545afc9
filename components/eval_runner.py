"""Start (or resume) an evaluation run from the page, with a progress bar.

Interrupting keeps the finished cases: Streamlit stops a running script (the Stop button, or any widget change)
by raising a control exception at the script's next ``st`` call, which is the progress-bar update after a case.
That exception is turned into the KeyboardInterrupt ``run_evaluation`` already handles (it scores and writes the
finished cases, ``partial: true``), then re-raised so Streamlit still stops or reruns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from core.evaluation.evaluate import SETTINGS_FILE, EvaluationReport, run_evaluation
from core.evaluation.plan import EvaluationPlan, available_splits, codiesp_root, plan_evaluation
from core.evaluation.runs import LoadedRun, new_run_folder
from core.settings import BACKENDS, LANGUAGES, RESULT_SETTINGS, STRATEGIES, Settings

try:  # Streamlit's stop / rerun signals (BaseException subclasses raised inside the script thread)
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
except ImportError:  # pragma: no cover - older / newer Streamlit layouts
    ScriptControlException = BaseException  # type: ignore[assignment,misc]

OPEN_RUN_REQUEST = "eval_open_run_request"  # session key: folder name the results picker should select next
FLASH_MESSAGE = "eval_flash_message"  # session key: a message to show once after the rerun that follows a run


def run_with_progress(plan: EvaluationPlan, folder: Path, *, resume: bool = False) -> EvaluationReport:
    """``run_evaluation`` into ``folder`` with an ``st.progress`` bar; a Streamlit stop / rerun request ends the
    run after the current case, keeping and scoring the finished cases, and is then passed on to Streamlit."""
    bar = st.progress(0.0, text=f"0/{len(plan.cases)} cases")
    control: list[BaseException] = []

    def progress(done: int, total: int) -> None:
        try:
            bar.progress(done / total if total else 1.0, text=f"{done}/{total} cases")
        except ScriptControlException as exc:
            control.append(exc)
            raise KeyboardInterrupt from exc

    report = run_evaluation(
        plan.cases,
        plan.code_case,
        folder,
        settings_dict=plan.settings_dict,
        train_codes=plan.train_codes if plan.train_splits else None,
        resume=resume,
        progress=progress,
        warm_up=plan.warm_up,
    )
    if control:
        st.session_state[OPEN_RUN_REQUEST] = folder.name
        raise control[0]
    return report


def _index(options: list[str] | tuple[str, ...], value: Any, default: int = 0) -> int:
    return list(options).index(value) if value in options else default


def render_new_run_form(settings: Settings, runs_root: Path) -> None:
    """Pick split, language, strategy, backend and limit, then run into a new timestamped folder."""
    root = codiesp_root(settings)
    splits = available_splits(root)
    if not splits:
        st.warning(
            f"No CodiEsp data found at `{settings.resolve(settings.codiesp_dir)}` (settings `data_dir` / "
            "`codiesp_dir`, env `CODER_DATA_DIR`). New runs need a split folder with `text_files/`; past runs and "
            "decision metrics still work."
        )
        return
    names = list(splits)
    with st.form("eval_new_run"):
        left, right = st.columns(2)
        split = left.selectbox(
            "Data split", names, index=_index(names, "dev"), key="eval_split", help=f"folders under {root}"
        )
        language = right.selectbox(
            "Language",
            LANGUAGES,
            index=_index(LANGUAGES, settings.language),
            key="eval_language",
            help="es: original notes; en: machine translation",
        )
        strategy = left.selectbox(
            "Strategy", STRATEGIES, index=_index(STRATEGIES, settings.strategy), key="eval_strategy"
        )
        backend = right.selectbox(
            "Backend",
            BACKENDS,
            index=_index(BACKENDS, settings.backend),
            key="eval_backend",
            help="none: the deterministic dictionary path, no LLM",
        )
        limit = left.number_input("Limit (first N cases, 0 = all)", min_value=0, value=20, step=10, key="eval_limit")
        submitted = st.form_submit_button("Run evaluation", type="primary")
    if not submitted:
        return
    if language not in splits[split]:
        st.error(f"Split {split!r} has no {language!r} text (it has: {', '.join(splits[split])}).")
        return
    run_settings = settings.with_overrides(language=language, strategy=strategy, backend=backend)
    try:
        plan = plan_evaluation(run_settings, split, int(limit) or None)
    except (FileNotFoundError, ValueError) as exc:
        st.error(str(exc))
        return
    if not plan.cases:
        st.warning(f"Split {split!r} has no {language!r} notes.")
        return
    folder = new_run_folder(runs_root, plan.settings_dict)
    st.caption(
        f"Coding {len(plan.cases)} cases into `{folder}`. Stop (top right), or changing any control, "
        "interrupts the run: finished cases are kept and scored, and the run can be resumed."
    )
    with st.spinner("Loading the knowledge base and coding…"):
        report = run_with_progress(plan, folder)
    st.session_state[OPEN_RUN_REQUEST] = folder.name
    st.session_state[FLASH_MESSAGE] = (
        f"Run `{folder.name}` finished: {report.n_cases} of {report.n_total} cases scored."
    )
    st.rerun()


def render_resume_button(run: LoadedRun, settings: Settings) -> None:
    """Offer to finish an interrupted run in its own folder with its own settings."""
    if not st.button("Resume this run (code the remaining cases)", key="eval_resume"):
        return
    if not run.settings.get("split"):
        st.error(f"Cannot resume: `{run.folder / SETTINGS_FILE}` is missing or unreadable, so the settings this run "
                 "was coded with are unknown. Start a new run instead; this one is left as it is.")
        return
    overrides = {name: run.settings[name] for name in RESULT_SETTINGS if run.settings.get(name) not in (None, "")}
    overrides.setdefault("ranker_merge", False)  # runs recorded before the merge existed coded without it
    try:
        run_settings = settings.with_overrides(**overrides)
        limit = run.settings.get("limit")
        # Scored as it was begun: older runs compared their codes with the gold as written.
        plan = plan_evaluation(run_settings, run.split, int(limit) if limit else None, run.settings.get("gold_codes"))
    except (FileNotFoundError, ValueError) as exc:
        st.error(f"Cannot resume: {exc}")
        return
    plan.settings_dict["created_at"] = run.settings.get("created_at", plan.settings_dict["created_at"])
    report = run_with_progress(plan, run.folder, resume=True)
    st.session_state[OPEN_RUN_REQUEST] = run.folder.name
    st.session_state[FLASH_MESSAGE] = (
        f"Run `{run.folder.name}` resumed: {report.n_cases} of {report.n_total} cases scored."
    )
    st.rerun()
