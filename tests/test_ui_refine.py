"""The app codes instantly and refines on request: the refinement runs in the background with its steps on screen,
can be cancelled, and ends with what changed; adopting stores a new run, the instant run keeps its decisions."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_ui_app import app_env as app_env  # noqa: F401 - the fixture: a temporary store, no coder.toml, backend none
from test_ui_app import code_note, decision_buttons, load_sample, sign_in, start_app, store_for_env

import components.refine_panel as refine_panel
import core.strategies.refine as refine
from components.safe_text import md_escape
from core.llm.fake import FakeBackend
from core.strategies.refine import RefineJob, compare_results

EVIDENCE_ANSWER = '{"snippets": ["congestive heart failure", "hypertension"]}'


@pytest.fixture
def llm_env(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Backend ollama chosen, at an address where nothing answers (the sidebar says so): the scripted model stands
    in for it through ``refine_backend``; each test installs its own."""
    monkeypatch.setenv("CODER_BACKEND", "ollama")
    monkeypatch.setenv("CODER_OLLAMA_HOST", "http://127.0.0.1:9")
    return app_env


def use_model(monkeypatch: pytest.MonkeyPatch, backend: FakeBackend) -> None:
    monkeypatch.setattr(refine_panel, "refine_backend", lambda settings: backend)


def the_job(at: AppTest, run_id: int) -> RefineJob:
    return at.session_state[refine_panel.JOBS_KEY][run_id]


def instant_run(at: AppTest) -> int:
    store = store_for_env()
    runs = store.runs_for_note(store.notes()[0]["id"])
    assert len(runs) == 1
    run = store.get_run(runs[0]["id"])
    assert run["backend"] == "none"
    assert not [t for t in run["trace"]["trace"] if t.get("prompt_template") or t.get("raw_answer")]
    return run["id"]


def coded_sample(*, signed_in: bool = True) -> tuple[AppTest, int]:
    """The app with the heart-failure sample coded instantly (after signing in): the app and the instant run's id."""
    at = start_app()
    if signed_in:
        sign_in(at)
    load_sample(at, "en_01_heart_failure")
    code_note(at)
    return at, instant_run(at)


def texts(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                    + [w.value for w in at.warning] + [s.value for s in at.success] + [e.value for e in at.error])


def test_the_default_codes_instantly_and_offers_no_refinement(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODER_BACKEND")  # the built-in default
    at, run_id = coded_sample(signed_in=False)
    assert decision_buttons(at, "accept")
    assert not [b for b in at.button if b.key and b.key.startswith("refine_start")]
    assert "Instant result: evidence, index, rules and the ranker" in texts(at)
    assert refine_panel.JOBS_KEY not in at.session_state or run_id not in at.session_state[refine_panel.JOBS_KEY]


def test_refine_shows_what_changed_and_adopting_keeps_earlier_decisions(
        llm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FakeBackend([EVIDENCE_ANSWER, "<answer>1</answer>"])
    use_model(monkeypatch, backend)
    at, run_id = coded_sample()
    assert not backend.calls  # "Code this note" never asks the model
    accept = decision_buttons(at, "accept")
    first = next(iter(accept))
    at.button(key=accept[first]).click().run()  # a decision on the instant run, before refining

    at.button(key=f"refine_start_{run_id}").click().run()
    job = the_job(at, run_id)
    assert job.wait(120) and job.state == "done", job.error
    at.run()
    assert not at.exception, at.exception
    assert backend.calls
    shown = texts(at)
    assert "What the language model changed" in shown and f"against run #{run_id} (instant)" in shown
    changes = compare_results(store_for_env().get_result(run_id), job.result)
    if changes:
        for change in changes:
            assert f"**{md_escape(change.code)}**" in shown
    else:
        assert "The language model changed nothing" in shown
    assert f"You made 1 decision(s) on run #{run_id}" in shown
    assert decision_buttons(at, "accept")  # the instant result stays reviewable

    at.button(key=f"refine_adopt_{run_id}").click().run()
    assert not at.exception, at.exception
    store = store_for_env()
    runs = sorted(r["id"] for r in store.runs_for_note(store.notes()[0]["id"]))
    assert len(runs) == 2
    refined = store.get_run(runs[1])
    assert refined["backend"] == "ollama" and refined["trace"]["trace"][0]["step"] == "refine"
    assert len(store.decisions(run_id=run_id)) == 1 and store.decisions(run_id=runs[1]) == []
    shown = texts(at)
    assert f"Run #{runs[1]} is the language model's refinement of run #{run_id}" in shown
    assert all(key.split("-")[1] == str(runs[1]) for key in decision_buttons(at, "accept").values())
    assert "Coded with the language model (ollama" in shown


def test_what_changed_lists_added_removed_and_status_changes(llm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model whose result differs in every way: each change is listed with the rationales before and after."""
    use_model(monkeypatch, FakeBackend([EVIDENCE_ANSWER]))
    real = refine.code_note

    def edited(text: str, settings: object, **kwargs: object):  # noqa: ANN202
        result = real(text, settings, **kwargs)
        removed, demoted = result.codes[0], result.codes[1]
        demoted.status, demoted.rationale = "candidate", "the model *doubts* it"
        result.codes = [c for c in result.codes[2:]]
        result.candidates = [demoted, *result.candidates]
        result.codes.append(removed.model_copy(update={"code": "Z79.4", "rationale": "insulin, said the model"}))
        return result

    monkeypatch.setattr(refine, "code_note", edited)
    at, run_id = coded_sample(signed_in=False)
    before = store_for_env().get_result(run_id)
    at.button(key=f"refine_start_{run_id}").click().run()
    assert the_job(at, run_id).wait(120)
    at.run()
    shown = texts(at)
    assert r":green-badge[Added] **Z79\.4**" in shown
    assert re.search(r"Refined \([a-z-]+\): insulin, said the model", shown)  # the step that gave the code
    assert f":red-badge[Removed] **{md_escape(before.codes[0].code)}**" in shown
    assert "Code → candidate" in shown and r"the model \*doubts\* it" in shown  # escaped: no Markdown from a model
    assert "Instant: " in shown
    kinds = [c.kind for c in compare_results(before, the_job(at, run_id).result)]
    assert f"{kinds.count('added')} code(s) added, {kinds.count('removed')} removed, " in shown
    assert kinds.count("added") >= 1 and kinds.count("removed") >= 1 and kinds.count("demoted") >= 1

    at.button(key=f"refine_keep_{run_id}").click().run()
    assert "The refinement was dropped" in texts(at)
    assert len(store_for_env().runs_for_note(store_for_env().notes()[0]["id"])) == 1
    assert at.button(key=f"refine_start_{run_id}")  # offered again


def test_a_refinement_shows_its_steps_and_can_be_cancelled(llm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate, asked = threading.Event(), threading.Event()

    def slow(prompt: str) -> str:
        asked.set()
        gate.wait(60)
        return EVIDENCE_ANSWER

    backend = FakeBackend(slow)
    use_model(monkeypatch, backend)
    at, run_id = coded_sample()
    try:
        at.button(key=f"refine_start_{run_id}").click().run()
        assert asked.wait(60)
        at.run()  # what the one-second fragment redraws
        assert not at.exception, at.exception
        labels = [s.label for s in at.status]
        assert any(label.startswith("Refining with the language model… evidence") for label in labels), labels
        assert "**evidence** — finding the terms to code" in texts(at)
        accept = decision_buttons(at, "accept")
        at.button(key=next(iter(accept.values()))).click().run()  # reviewing goes on meanwhile
        assert len(store_for_env().decisions(run_id=run_id)) == 1

        at.button(key=f"refine_cancel_{run_id}").click().run()
        assert any(s.label.startswith("Cancelling the refinement") for s in at.status)
    finally:
        gate.set()
    job = the_job(at, run_id)
    assert job.wait(60) and job.state == "cancelled"
    at.run()
    assert "The refinement was cancelled; the instant result stands." in texts(at)
    assert len(backend.calls) == 1
    store = store_for_env()
    assert len(store.runs_for_note(store.notes()[0]["id"])) == 1
    assert at.button(key=f"refine_start_{run_id}")  # it can be started again


def test_an_unreachable_server_fails_the_refinement_not_the_note(llm_env: Path) -> None:
    at, run_id = coded_sample()
    at.button(key=decision_buttons(at, "accept")[next(iter(decision_buttons(at, "accept")))]).click().run()
    at.button(key=f"refine_start_{run_id}").click().run()
    assert the_job(at, run_id).wait(60)
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert "The language model is not available" in errors and "127.0.0.1:9" in errors
    assert "The instant result stands; nothing was stored." in errors
    store = store_for_env()
    assert len(store.runs_for_note(store.notes()[0]["id"])) == 1 and len(store.decisions()) == 1
