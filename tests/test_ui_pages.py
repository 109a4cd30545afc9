"""The code browser and audit pages, run headless with AppTest through the app's navigation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.schema import CodeSuggestion, CodingResult, Span, StepTrace
from core.settings import load_settings
from core.store import DecisionStore

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT_S = 600


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODER_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CODER_EMBEDDING_MODEL", "none")  # lexical retrieval: no dense build in UI tests
    monkeypatch.setenv("CODER_BACKEND", "none")
    monkeypatch.setenv("CODER_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("CODER_DB_URL", raising=False)
    return tmp_path


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def seeded_store() -> tuple[DecisionStore, int]:
    store = DecisionStore(load_settings().database_url)
    note = "Admitted with hypertension. No pneumonia."
    note_id = store.add_note(note, "test", "en")
    result = CodingResult(
        note_sha256="x", language="en", strategy="deterministic", backend="none",
        codes=[CodeSuggestion(code="I10", description="Essential (primary) hypertension", rationale="matched index",
                              evidence=[Span(start=14, end=26, text="hypertension")], step="dictionary")],
        trace=[StepTrace(step="dictionary", prompt_template="none", prompt_version="1", output_codes=["I10"])],
        resources={"ICD-10-CM tabular list": "test"},
    )  # fmt: skip
    run_id = store.save_run(note_id, result, {"backend": "none"}, user="ann")
    store.record_decision(run_id, "I10", "accept", user="ann")
    store.record_decision(run_id, "Z87.891", "add", user="bob", evidence=[Span(start=0, end=8, text="Admitted")])
    store.submit(run_id, [{"code": "I10"}, {"code": "Z87.891", "origin": "added"}], user="bob")
    return store, run_id


def test_code_browser_shows_hierarchy_and_inherited_notes(app_env: Path) -> None:
    at = open_page("pages/2_Code_browser.py")
    at.text_input(key="browser_query").input("I50.22").run()
    assert not at.exception, at.exception
    headings = " ".join(m.value for m in at.markdown)
    assert "I50.22" in headings and "this code" in headings
    labels = [b.label for b in at.button]
    assert any(label.startswith("I50 —") or "I50 — Heart failure" in label for label in labels), labels
    expanders = [e.label for e in at.expander]
    assert any(label.startswith("From I50 ") for label in expanders), expanders  # notes inherited from I50

    at.radio(key="browser_mode").set_value("Alphabetical index").run()
    at.text_input(key="browser_query").input("Failure, heart, right").run()  # written the way the index writes it
    assert not at.exception, at.exception
    assert at.dataframe and len(at.dataframe[0].value) > 0, "index entries are listed"


def test_code_browser_reads_words_in_the_app_language(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODER_LANGUAGE", "es")
    at = open_page("pages/2_Code_browser.py")
    at.text_input(key="browser_query").input("hipertensión").run()
    assert not at.exception, at.exception
    options = at.selectbox(key="browser_pick").options
    assert options and options[0].startswith("I10"), options


def test_code_browser_related_terms_rank_index_paths_and_descriptions(app_env: Path) -> None:
    at = open_page("pages/2_Code_browser.py")
    at.radio(key="browser_mode").set_value("Related terms").run()
    at.text_input(key="browser_query").input("right heart failure").run()
    assert not at.exception, at.exception
    codes = list(at.dataframe[0].value["code"])
    assert any(code.startswith("I50.81") for code in codes[:3]), codes
    options = at.selectbox(key="browser_retrieval_pick").options
    assert options[0].startswith("I50.81"), options
    assert any("I50.81" in m.value and "this code" in m.value for m in at.markdown)  # opened on the right


def test_audit_filters_inspects_and_exports(app_env: Path) -> None:
    store, run_id = seeded_store()
    at = open_page("pages/3_Audit.py")
    assert any("Decisions (2)" in m.value for m in at.markdown)
    at.selectbox(key="audit_user").select("bob").run()
    assert any("Decisions (1)" in m.value for m in at.markdown)
    assert at.selectbox(key="audit_run").value == run_id
    at.selectbox(key="audit_code_pick").select("I10").run()
    page_text = " ".join(m.value for m in at.markdown)
    assert "Essential (primary) hypertension" in page_text and "accept" in page_text
    assert any("cc-focus" in m.value for m in at.markdown)  # the note with I10's evidence emphasised

    exported = json.loads(store.export_decisions("json", user="bob"))
    assert [row["action"] for row in exported] == ["add"]
    downloads = at.get("download_button")
    assert len(downloads) == 6  # decisions and submissions, and the access log, each as CSV and JSON


def test_audit_reaches_every_run_and_every_coder(app_env: Path) -> None:
    """A coder who only submitted a chart can be filtered on, a run nobody decided on can be inspected, and a code
    put in place of a suggested one can be picked."""
    store, run_id = seeded_store()
    store.record_decision(run_id, "I10", "edit", user="ann", replacement_code="I11.9", reason="heart disease")
    quiet = store.save_run(store.add_note("Fever.", "test", "en"), store.get_result(run_id), {}, user="eve")
    store.submit(quiet, [], user="eve")
    at = open_page("pages/3_Audit.py")
    assert "eve" in at.selectbox(key="audit_user").options
    assert {str(quiet), str(run_id)} <= {o.removeprefix("run #") for o in at.selectbox(key="audit_run").options}
    at.selectbox(key="audit_run").select(run_id).run()
    at.selectbox(key="audit_code_pick").select("I11.9").run()
    page_text = " ".join(m.value for m in at.markdown)
    assert "put in place of I10" in page_text
    at.selectbox(key="audit_user").select("eve").run()
    assert at.selectbox(key="audit_run").options == [f"run #{quiet}"]


def test_an_unreadable_store_is_a_clear_message(app_env: Path) -> None:
    (app_env / "decisions.sqlite").write_text("not a database")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, at.exception
    assert any("decision store is unavailable" in e.value and "cannot be opened" in e.value for e in at.error)
    at.switch_page("pages/3_Audit.py").run()
    assert not at.exception, at.exception
    assert any("decision store is unavailable" in e.value for e in at.error)
    assert (app_env / "decisions.sqlite").read_text() == "not a database"
