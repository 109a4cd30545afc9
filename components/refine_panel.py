""""Refine with the language model": the instant result stays on screen while a model refines it in the background.

"Code this note" always runs the instant path (no language model). When the sidebar names a backend and an LLM
strategy, this panel offers the refinement: :class:`core.strategies.refine.RefineJob` codes the same note with that
model in a thread of its own; a fragment polls it every second for its steps, with a cancel button (the job stops
at its next step or model call). The thread never touches Streamlit or the store. When it ends, the panel shows
what changed against the instant run; "Adopt" stores the refined result as a new run of the note (decisions already
made stay with the instant run), "Keep the instant result" drops it. Jobs live in ``st.session_state`` keyed by the
instant run's id, so coding another note and coming back finds the refinement where it was.
"""

from __future__ import annotations

import streamlit as st

from components.auth import blocked, may
from components.run_panel import ACTIVE_KEY, ActiveRun
from components.safe_text import md_escape
from core.kb.knowledge import KnowledgeBase
from core.llm.base import LLMBackend
from core.settings import Settings
from core.store import DecisionStore, StoreUnavailable
from core.strategies.refine import CodeChange, RefineJob, compare_results, fallback_steps, why_not_refinable

JOBS_KEY = "refine_jobs"  # instant run id -> RefineJob, this session only
ORIGIN_KEY = "refined_from"  # adopted run id -> the instant run it refined
FLASH_KEY = "refine_flash"
POLL_S = 1.0
KIND_LABELS = {
    "added": ":green-badge[Added]",
    "removed": ":red-badge[Removed]",
    "promoted": ":green-badge[Candidate → code]",
    "demoted": ":orange-badge[Code → candidate]",
    "new candidate": ":blue-badge[New candidate]",
    "dropped candidate": ":gray-badge[Candidate dropped]",
}
CODE_KINDS = ("added", "removed", "promoted", "demoted")


def refine_backend(settings: Settings) -> LLMBackend | None:
    """The model a refinement uses instead of the configured one; None: the configured backend, after its
    availability check (in the job's thread). Tests replace this function to inject a scripted model."""
    return None


def refine_settings(run: ActiveRun, settings: Settings) -> Settings:
    """The sidebar's settings (strategy, backend, model, server) for the run's note, in the note's language."""
    return settings.with_overrides(language=run.settings.language)


def _jobs() -> dict[int, RefineJob]:
    return st.session_state.setdefault(JOBS_KEY, {})


def job_for(run_id: int) -> RefineJob | None:
    return _jobs().get(run_id)


# --------------------------------------------------------------------------- callbacks (run before the page)


def _start(run: ActiveRun, settings: Settings, kb: KnowledgeBase, url: str) -> None:
    if not may("code"):
        st.session_state[FLASH_KEY] = ("error", blocked("code"))
        return
    learned: list[dict] = []
    if settings.learn_from_decisions:
        try:
            learned = DecisionStore(url).learned_terms(settings.language)
        except StoreUnavailable as exc:
            st.session_state[FLASH_KEY] = ("error", f"The refinement did not start: {exc}.")
            return
    old = _jobs().get(run.run_id)
    if old is not None and not old.finished:
        return  # a second click while it runs
    _jobs()[run.run_id] = RefineJob(run.run_id, run.note_text, settings, kb, learned_terms=learned,
                                    backend=refine_backend(settings)).start()


def _cancel(run_id: int) -> None:
    job = _jobs().get(run_id)
    if job is not None:
        job.cancel()


def _keep(run_id: int) -> None:
    _jobs().pop(run_id, None)
    st.session_state[FLASH_KEY] = ("info", f"The refinement was dropped; run #{run_id} (the instant result) stands.")


def _adopt(run: ActiveRun, url: str, user: str) -> None:
    job = _jobs().get(run.run_id)
    if job is None or job.result is None:
        return
    if not may("code"):
        st.session_state[FLASH_KEY] = ("error", blocked("code"))
        return
    try:
        run_id = DecisionStore(url).save_run(run.note_id, job.result, job.settings.public_dict(), user=user)
    except StoreUnavailable as exc:  # the job stays: nothing is lost, the coder can try again
        st.session_state[FLASH_KEY] = ("error", f"The refined result was not stored: {exc}. Nothing was changed.")
        return
    _jobs().pop(run.run_id, None)
    st.session_state[ACTIVE_KEY] = ActiveRun(run_id, run.note_id, run.note_text, job.result, job.settings)
    st.session_state.setdefault(ORIGIN_KEY, {})[run_id] = run.run_id


# --------------------------------------------------------------------------- drawing


def render_refine_panel(run: ActiveRun, settings: Settings, store: DecisionStore, kb: KnowledgeBase,
                        user: str) -> None:
    """The refinement's offer, progress or outcome for the run on the page."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        getattr(st, flash[0])(flash[1])
    origin = st.session_state.get(ORIGIN_KEY, {}).get(run.run_id)
    if origin is not None:
        st.info(f"Run #{run.run_id} is the language model's refinement of run #{origin} (the instant result), "
                f"adopted in this session; it starts unreviewed. Decisions made on run #{origin} stay with that run "
                "(“Earlier runs” reopens it).", icon=":material/auto_awesome:")
    job = job_for(run.run_id)
    if job is not None and not job.finished:
        _live(run.run_id)
    elif job is not None and job.state == "done":
        _comparison(run, job, store, user)
    else:
        if job is not None and job.state == "cancelled":
            st.info("The refinement was cancelled; the instant result stands.", icon=":material/block:")
        elif job is not None and job.state == "failed":
            st.error(f"{job.error} The instant result stands; nothing was stored.", icon="🚫")
        _offer(run, refine_settings(run, settings), store, kb)


def _offer(run: ActiveRun, settings: Settings, store: DecisionStore, kb: KnowledgeBase) -> None:
    if run.settings.backend != "none":
        st.caption(f"Coded with the language model ({run.settings.backend}"
                   + (f" {run.result.model}" if run.result.model else "") + f", strategy {run.settings.strategy}).")
        return
    reason = why_not_refinable(settings)
    if reason:
        where = "choose them in the sidebar" if may("settings") else "an administrator sets them in coder.toml"
        st.caption(f"Instant result: evidence, index, rules and the ranker, no language model. A language model "
                   f"can refine it when a backend and an LLM strategy are chosen ({where}); now {reason}.")
        return
    col, info = st.columns([3, 7], vertical_alignment="center")
    col.button("Refine with the language model", key=f"refine_start_{run.run_id}", icon=":material/auto_awesome:",
               on_click=_start, args=(run, settings, kb, store.url), disabled=not may("code"), width="stretch",
               help=blocked("code") or None)
    model = f" {settings.model}" if settings.model else ""
    info.caption(f"Strategy {settings.strategy} with {settings.backend}{model}, in the background: review the "
                 "codes below meanwhile. You then see what it changed and choose which result to keep.")


@st.fragment(run_every=POLL_S)
def _live(run_id: int) -> None:
    """The running job's steps, redrawn every second without rerunning the page; the page reruns when it ends."""
    job = job_for(run_id)
    if job is None:
        return
    if job.finished:
        st.rerun()  # the whole page: the comparison replaces this fragment
    events = job.snapshot()
    if job.state == "cancelling":
        label = "Cancelling the refinement at the next step…"
    else:
        label = f"Refining with the language model… {events[-1].step if events else 'starting'}"
    with st.status(label, expanded=True, state="running"):
        for event in events:
            st.markdown(f"`{event.seconds:6.1f}s` **{md_escape(event.step)}** — {md_escape(event.message)}")
        st.caption(f"{job.elapsed:.0f} s so far with {job.settings.backend}. The codes below are the instant result "
                   "and can be reviewed meanwhile; a cancel takes effect at the next step or model call.")
    st.button("Cancel refinement", key=f"refine_cancel_{run_id}", on_click=_cancel, args=(run_id,),
              disabled=job.state == "cancelling", icon=":material/stop:")


def _change_line(change: CodeChange) -> None:
    st.markdown(f"{KIND_LABELS[change.kind]} **{md_escape(change.code)}** {md_escape(change.description)}")
    if change.rationale_before:
        st.caption(f"Instant: {md_escape(change.rationale_before)}")
    if change.rationale_after:
        st.caption(f"Refined ({md_escape(change.step_after or 'model')}): {md_escape(change.rationale_after)}")


def _summary(changes: list[CodeChange], unchanged: int) -> str:
    counts = {kind: sum(c.kind == kind for c in changes) for kind in KIND_LABELS}
    parts = [f"{counts['added']} code(s) added", f"{counts['removed']} removed",
             f"{counts['promoted']} candidate(s) now coded", f"{counts['demoted']} code(s) now candidates",
             f"{counts['new candidate'] + counts['dropped candidate']} candidate change(s)",
             f"{unchanged} code(s) unchanged"]
    return ", ".join(parts)


def _comparison(run: ActiveRun, job: RefineJob, store: DecisionStore, user: str) -> None:
    result = job.result
    assert result is not None
    changes = compare_results(run.result, result)
    coded = {s.code for s in result.codes}
    unchanged = sum(s.code in coded for s in run.result.codes)
    with st.container(border=True, key="refine_comparison"):
        model = f" {result.model}" if result.model else ""
        st.markdown(f"**What the language model changed** · {job.settings.backend}{model}, strategy "
                    f"{job.settings.strategy}, {job.elapsed:.1f} s · against run #{run.run_id} (instant)")
        st.caption(_summary(changes, unchanged))
        if not changes:
            st.success("The language model changed nothing: the codes and candidates are the instant result's.")
        for change in (c for c in changes if c.kind in CODE_KINDS):
            _change_line(change)
        minor = [c for c in changes if c.kind not in CODE_KINDS]
        if minor:
            with st.expander(f"Candidates for review: {len(minor)} change(s)"):
                for change in minor:
                    _change_line(change)
        fallbacks = fallback_steps(result)
        if fallbacks:
            st.warning("The model's answer was not used in "
                       + "; ".join(f"**{md_escape(s.step)}** ({md_escape(s.fallback or '')})" for s in fallbacks)
                       + ": the dictionary and rules stood in there.")
        decided = len(store.decisions(run_id=run.run_id))
        if decided:
            st.info(f"You made {decided} decision(s) on run #{run.run_id}. Adopting stores the refinement as a new run "
                    f"that starts unreviewed; those decisions stay with run #{run.run_id} (“Earlier runs” reopens it).")
        else:
            st.caption(f"Adopting stores the refinement as a new run of this note; run #{run.run_id} stays as it is.")
        adopt, keep, _ = st.columns([3, 3, 4])
        adopt.button("Adopt the refined result", key=f"refine_adopt_{run.run_id}", type="primary", width="stretch",
                     on_click=_adopt, args=(run, store.url, user), disabled=not may("code"))
        keep.button("Keep the instant result", key=f"refine_keep_{run.run_id}", width="stretch", on_click=_keep,
                    args=(run.run_id,))
