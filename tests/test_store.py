"""DecisionStore on real SQLite files: idempotent notes, runs, append-only decisions, exports, concurrency."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.schema import CodeSuggestion, CodingResult, Span, StepTrace
from core.store import Decision, DecisionStore, LearnedTerm, Submission, normalise_term, note_sha256
from core.store import engine as store_module
from core.store.review import other_reviews
from core.training.feedback import notes_from_store
from core.training.retrain import submitted_chart_counts

NOTE = "Paciente con diabetes mellitus tipo 2 e hipertensión arterial. Niega dolor torácico."


def _span(text: str, needle: str) -> Span:
    start = text.index(needle)
    return Span(start=start, end=start + len(needle), text=needle)


def make_result(text: str = NOTE) -> CodingResult:
    return CodingResult(
        note_sha256=note_sha256(text),
        language="es",
        strategy="clh",
        backend="none",
        model="test-model",
        codes=[
            CodeSuggestion(
                code="E11.9",
                description="Type 2 diabetes mellitus without complications",
                evidence=[_span(text, "diabetes mellitus tipo 2")],
                source="dictionary:codiesp-train",
                score=0.9,
                rationale="dictionary match",
                step="link",
            ),
            CodeSuggestion(
                code="I10",
                description="Essential (primary) hypertension",
                evidence=[_span(text, "hipertensión arterial")],
                source="llm",
                score=0.8,
                rationale="LLM verified",
                step="verify",
            ),
        ],
        candidates=[
            CodeSuggestion(code="R07.9", description="Chest pain, unspecified", step="retrieve", status="candidate"),
        ],
        trace=[
            StepTrace(step="link", output_codes=["E11.9"], rationale="dictionary"),
            StepTrace(
                step="verify",
                prompt_template="verify.j2",
                prompt_version="3",
                output_codes=["E11.9", "I10"],
                rationale="kept both",
            ),
        ],
        resources={"codiesp": "v4", "icd10cm_index": "2025"},
        timings_ms={"link": 3.0, "verify": 120.5},
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'state' / 'decisions.sqlite'}"


@pytest.fixture
def db(url: str) -> DecisionStore:
    return DecisionStore(url)


@pytest.fixture
def run_id(db: DecisionStore) -> int:
    note_id = db.add_note(NOTE, "paste", "es")
    return db.save_run(note_id, make_result(), {"strategy": "clh", "path": Path("/x")}, user="ana")


def _count(db: DecisionStore, model: type) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_sqlite_file_created_in_wal_mode_with_foreign_keys(db: DecisionStore, url: str, tmp_path: Path) -> None:
    assert (tmp_path / "nested" / "state" / "decisions.sqlite").exists()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert DecisionStore(url).engine is db.engine  # one engine per URL


def test_add_note_is_idempotent_on_sha256(db: DecisionStore) -> None:
    first = db.add_note(NOTE, "paste", "es")
    assert db.add_note(NOTE, "upload:note.txt", "es") == first
    other = db.add_note(NOTE + " ", "paste", "es")
    assert other != first
    note = db.get_note(first)
    assert note["sha256"] == note_sha256(NOTE)
    assert note["text"] == NOTE and note["source"] == "paste" and note["language"] == "es"
    assert [n["id"] for n in db.notes()] == [first, other]
    with pytest.raises(ValueError, match="empty"):
        db.add_note("   ", "paste", "es")


def test_save_run_stores_trace_and_ranked_suggestions(db: DecisionStore, run_id: int) -> None:
    run = db.get_run(run_id)
    assert run["strategy"] == "clh" and run["backend"] == "none" and run["model"] == "test-model"
    assert run["user"] == "ana"
    assert run["settings"] == {"strategy": "clh", "path": "/x"}  # made JSON-safe
    assert run["prompt_versions"] == {"verify": {"template": "verify.j2", "version": "3"}}
    assert run["resource_versions"] == {"codiesp": "v4", "icd10cm_index": "2025"}
    assert run["timings"] == {"link": 3.0, "verify": 120.5}
    assert run["trace"] == make_result().model_dump(mode="json")
    assert db.get_result(run_id) == make_result()
    sugg = [(s["code"], s["status"], s["rank"], s["step"]) for s in run["suggestions"]]
    assert sugg == [("E11.9", "code", 1, "link"), ("I10", "code", 2, "verify"), ("R07.9", "candidate", 1, "retrieve")]
    assert run["suggestions"][0]["evidence"] == [{"start": 13, "end": 37, "text": "diabetes mellitus tipo 2"}]
    assert [r["id"] for r in db.runs_for_note(run["note_id"])] == [run_id]
    assert "trace" not in db.runs_for_note(run["note_id"])[0]
    assert datetime.fromisoformat(run["created_at"]).utcoffset() == timedelta(0)


def test_save_run_for_missing_note_raises(db: DecisionStore) -> None:
    with pytest.raises(ValueError, match="note 999 does not exist"):
        db.save_run(999, make_result(), {}, user="ana")


def test_decisions_are_append_only_and_latest_wins(db: DecisionStore, run_id: int) -> None:
    first = db.record_decision(run_id, "I10", "accept", user="ana")
    second = db.record_decision(run_id, "I10", "reject", user="ben", reason="not documented")
    assert second > first
    assert _count(db, Decision) == 2
    state = db.current_state(run_id)
    assert set(state) == {"I10"}
    assert state["I10"]["id"] == second and state["I10"]["action"] == "reject" and state["I10"]["user"] == "ben"
    assert state["I10"]["suggestion_status"] == "code" and state["I10"]["suggestion_step"] == "verify"
    history = db.decisions(code="I10")
    assert [d["action"] for d in history] == ["accept", "reject"]
    created = datetime.fromisoformat(history[0]["created_at"])
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    for name in ("update_decision", "delete_decision", "delete", "update"):
        assert not hasattr(db, name)


def test_decision_links_to_suggestion_and_edit(db: DecisionStore, run_id: int) -> None:
    suggestion_ids = {s["code"]: s["id"] for s in db.suggestions(run_id)}
    db.record_decision(run_id, "E11.9", "edit", user="ana", replacement_code="E11.65", reason="hyperglycaemia")
    db.record_decision(run_id, "Z79.4", "add", user="ana", evidence=[{"start": 0, "end": 8, "text": "Paciente"}])
    state = db.current_state(run_id)
    assert state["E11.9"]["suggestion_id"] == suggestion_ids["E11.9"]
    assert state["E11.9"]["replacement_code"] == "E11.65"
    assert state["Z79.4"]["suggestion_id"] is None and state["Z79.4"]["action"] == "add"
    assert [d["code"] for d in db.decisions(code="E11.65")] == ["E11.9"]  # code filter also matches replacements


def test_learned_terms_for_accept_and_add_with_spans(db: DecisionStore, run_id: int) -> None:
    accept_id = db.record_decision(run_id, "E11.9", "accept", user="ana")  # takes the suggestion's evidence
    add_span = _span(NOTE, "dolor torácico")
    add_id = db.record_decision(run_id, "R07.9", "add", user="ana", evidence=[add_span, add_span])
    db.record_decision(run_id, "I10", "reject", user="ana", evidence=[_span(NOTE, "hipertensión arterial")])
    db.record_decision(run_id, "I10", "accept", user="ana", evidence=[])  # falls back to suggestion evidence
    terms = db.learned_terms("es")
    assert [(t["term"], t["normalised"], t["code"], t["source"]) for t in terms] == [
        ("diabetes mellitus tipo 2", "diabetes mellitus tipo 2", "E11.9", "accepted"),
        ("dolor torácico", "dolor toracico", "R07.9", "added"),
        ("hipertensión arterial", "hipertension arterial", "I10", "accepted"),
    ]
    assert terms[0]["decision_id"] == accept_id and terms[1]["decision_id"] == add_id
    assert all(t["language"] == "es" and t["user"] == "ana" for t in terms)
    assert db.learned_terms("en") == []
    assert len(db.learned_terms()) == 3


def test_learned_term_retracted_by_a_later_reject_or_replacement(db: DecisionStore, run_id: int) -> None:
    """A code added by mistake and removed, or accepted then replaced, no longer teaches its evidence."""
    db.record_decision(run_id, "J18.9", "add", user="ana", evidence=[_span(NOTE, "hipertensión arterial")])
    db.record_decision(run_id, "J18.9", "reject", user="ana", reason="added by mistake")
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.record_decision(run_id, "E11.9", "edit", user="ana", replacement_code="E11.65")
    assert db.learned_terms() == []
    # In a later run of the same note the coder adds it again: the term teaches again.
    note_id = db.get_run(run_id)["note_id"]
    later_run = db.save_run(note_id, make_result(), {}, user="ana")
    db.record_decision(later_run, "E11.9", "accept", user="ana")
    assert [(t["term"], t["code"]) for t in db.learned_terms("es")] == [("diabetes mellitus tipo 2", "E11.9")]
    # ... and a reject in any run of the note takes it back.
    db.record_decision(run_id, "E11.9", "reject", user="ana")
    assert db.learned_terms() == []


def test_decisions_and_charts_belong_to_the_language_of_their_run(db: DecisionStore) -> None:
    """A note first stored as English and then coded as Spanish teaches Spanish terms and makes a Spanish chart."""
    note_id = db.add_note(NOTE, "paste", "en")
    run_id = db.save_run(note_id, make_result(), {"language": "es"}, user="ana")  # make_result codes in Spanish
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.submit(run_id, [{"code": "E11.9"}], user="ana")
    assert [t["language"] for t in db.learned_terms()] == ["es"] and db.learned_terms("en") == []
    [submission] = db.submissions()
    assert submission["language"] == "es" and db.get_note(note_id)["language"] == "en"
    assert [codes for _, _, codes in notes_from_store(db, "es")] == [{"E11.9"}] and notes_from_store(db, "en") == []
    assert submitted_chart_counts(db) == {"es": 1}


def test_submit_and_submissions(db: DecisionStore, run_id: int) -> None:
    codes = [
        {"code": "E11.65", "description": "T2DM with hyperglycemia", "origin": "edited"},
        {"code": "I10", "evidence": [_span(NOTE, "hipertensión arterial")]},
    ]
    sub_id = db.submit(run_id, codes, user="ana")
    [sub] = db.submissions(run_id=run_id)
    assert sub["id"] == sub_id and sub["user"] == "ana"
    assert [c["code"] for c in sub["codes"]] == ["E11.65", "I10"]
    assert sub["codes"][1]["origin"] == "suggested"
    assert sub["codes"][1]["evidence"][0]["text"] == "hipertensión arterial"
    assert db.submissions(user="ben") == []
    with pytest.raises(ValueError, match="origin"):
        db.submit(run_id, [{"code": "I10", "origin": "guessed"}], user="ana")
    with pytest.raises(ValueError, match="user is required"):
        db.submit(run_id, codes, user="")
    with pytest.raises(ValueError, match="run 404 does not exist"):
        db.submit(404, codes, user="ana")
    assert _count(db, Submission) == 1


def test_exports_parse_back(db: DecisionStore, run_id: int) -> None:
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.record_decision(run_id, "I10", "reject", user="ben", reason='says "maybe", not confirmed')
    db.submit(run_id, [{"code": "E11.9", "evidence": [_span(NOTE, "diabetes mellitus tipo 2")]}], user="ana")

    rows = list(csv.DictReader(io.StringIO(db.export_decisions("csv"))))
    assert [(r["code"], r["action"], r["user"]) for r in rows] == [("E11.9", "accept", "ana"), ("I10", "reject", "ben")]
    assert rows[1]["reason"] == 'says "maybe", not confirmed'
    assert json.loads(rows[0]["evidence"])[0]["text"] == "diabetes mellitus tipo 2"
    assert json.loads(db.export_decisions("json")) == db.decisions()
    assert len(json.loads(db.export_decisions("json", user="ben"))) == 1

    sub_rows = list(csv.DictReader(io.StringIO(db.export_submissions("csv"))))
    assert [(r["code"], r["position"], r["origin"]) for r in sub_rows] == [("E11.9", "1", "suggested")]
    assert json.loads(db.export_submissions("json")) == db.submissions()
    with pytest.raises(ValueError, match="format"):
        db.export_decisions("xml")


def test_decision_filters(db: DecisionStore, run_id: int) -> None:
    note_id = db.get_run(run_id)["note_id"]
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.record_decision(run_id, "I10", "reject", user="ben")
    today = datetime.now(UTC).date()
    assert len(db.decisions(note_id=note_id)) == 2
    assert db.decisions(note_id=note_id + 1) == []
    assert [d["code"] for d in db.decisions(user="ben")] == ["I10"]
    assert [d["code"] for d in db.decisions(action="accept")] == ["E11.9"]
    assert len(db.decisions(date_from=today, date_to=today)) == 2
    assert len(db.decisions(date_from=today.isoformat(), date_to=today.isoformat())) == 2
    assert db.decisions(date_to=today - timedelta(days=1)) == []
    assert db.decisions(date_from=datetime.now(UTC) + timedelta(minutes=1)) == []


def test_code_audit(db: DecisionStore, run_id: int) -> None:
    db.record_decision(run_id, "I10", "accept", user="ana")
    db.record_decision(run_id, "I10", "reject", user="ben", reason="not documented")
    audit = db.code_audit(run_id, "I10")
    assert audit["suggested"] and audit["status"] == "code" and audit["model"] == "test-model"
    assert audit["evidence"][0]["text"] == "hipertensión arterial"
    assert audit["rationale"] == "LLM verified"
    assert audit["prompt_versions"] == {"verify": {"template": "verify.j2", "version": "3"}}
    assert audit["resource_versions"]["icd10cm_index"] == "2025"
    assert audit["steps"] == [
        {
            "step": "verify",
            "prompt_template": "verify.j2",
            "prompt_version": "3",
            "rationale": "kept both",
            "fallback": None,
        }
    ]
    assert [(d["action"], d["user"]) for d in audit["decisions"]] == [("accept", "ana"), ("reject", "ben")]
    assert audit["current"]["action"] == "reject"
    assert db.code_audit(run_id, "Z00.0")["suggested"] is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "approve", "user": "ana"}, "action must be one of"),
        ({"action": "accept", "user": ""}, "user is required"),
        ({"action": "accept", "user": "   "}, "user is required"),
        ({"action": "accept", "user": None}, "user is required"),
        ({"action": "edit", "user": "ana"}, "replacement_code"),
        ({"action": "accept", "user": "ana", "replacement_code": "I11"}, "replacement_code"),
        ({"action": "accept", "user": "ana", "suggestion_id": 999}, "does not belong to run"),
    ],
)
def test_invalid_decisions_write_nothing(db: DecisionStore, run_id: int, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        db.record_decision(run_id, "I10", kwargs.pop("action"), **kwargs)
    assert _count(db, Decision) == 0 and _count(db, LearnedTerm) == 0


@pytest.mark.usefixtures("run_id")
def test_decision_on_missing_run_writes_nothing(db: DecisionStore) -> None:
    with pytest.raises(ValueError, match="run 12345 does not exist"):
        db.record_decision(12345, "I10", "add", user="ana", evidence=[{"start": 0, "end": 8, "text": "Paciente"}])
    assert _count(db, Decision) == 0 and _count(db, LearnedTerm) == 0
    with pytest.raises(ValueError, match="does not exist"):
        db.current_state(12345)
    with pytest.raises(ValueError, match="does not exist"):
        db.get_run(12345)


def _hammer(db: DecisionStore, run_id: int, user: str, n: int) -> None:
    for i in range(n):
        evidence = [{"start": 0, "end": 8, "text": "Paciente"}]
        db.record_decision(run_id, f"Z{i:02d}.{user[0]}", "add", user=user, evidence=evidence)
        db.add_note(f"{user} note {i}", "paste", "es")


@pytest.mark.parametrize("separate_engines", [False, True])
def test_concurrent_writers_lose_nothing(url: str, separate_engines: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    first = DecisionStore(url)
    if separate_engines:  # as two processes would: each with its own engine and connection pool
        monkeypatch.setattr(store_module, "_ENGINES", {})
    second = DecisionStore(url)
    assert (first.engine is not second.engine) == separate_engines
    note_id = first.add_note(NOTE, "paste", "es")
    run_id = first.save_run(note_id, make_result(), {}, user="ana")
    n = 25
    users = ("ana", "ben", "cid", "dan")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(_hammer, store, run_id, user, n) for store, user in zip((first, second) * 2, users, strict=True)
        ]
        for future in futures:
            future.result(timeout=60)  # re-raises any "database is locked" from the thread
    for store in (first, second):
        rows = store.decisions()
        assert len(rows) == 4 * n
        assert {(d["user"], d["code"]) for d in rows} == {(u, f"Z{i:02d}.{u[0]}") for u in users for i in range(n)}
        assert len(store.learned_terms()) == 4 * n
        assert len(store.notes()) == 1 + 4 * n
    if separate_engines:
        second.engine.dispose()


def test_normalise_term() -> None:
    assert normalise_term("  Dolor  TORÁCICO, agudo ") == "dolor toracico agudo"
    assert normalise_term("...") == ""


def test_a_new_run_of_a_reviewed_note_names_the_earlier_work(db: DecisionStore, run_id: int) -> None:
    note_id = db.get_run(run_id)["note_id"]
    untouched = db.save_run(note_id, make_result(), {}, user="ana")  # run, never reviewed
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.submit(run_id, [{"code": "E11.9"}], user="ana")
    latest = db.save_run(note_id, make_result(), {}, user="ana")
    [line] = other_reviews(db, note_id, latest)
    assert line.startswith(f"run #{run_id}: 1 decision(s), chart submitted by ana")
    assert other_reviews(db, note_id, run_id) == [] and untouched > run_id
    db.record_decision(latest, "I10", "reject", user="ben")  # a later run's review is named when the earlier is open
    assert other_reviews(db, note_id, run_id) == [f"run #{latest}: 1 decision(s)"]


def test_audit_of_a_code_only_the_coder_added(db: DecisionStore, run_id: int) -> None:
    db.record_decision(run_id, "Z87.891", "add", user="ana", evidence=[_span(NOTE, "Paciente")], reason="ex-smoker")
    added = db.code_audit(run_id, "Z87.891")
    assert not added["suggested"] and added["evidence"][0]["text"] == "Paciente"
    assert added["rationale"] == "added by ana: ex-smoker"


def test_recent_runs_list_what_a_coder_picks_a_run_to_reopen_by(db: DecisionStore, run_id: int) -> None:
    note_id = db.get_run(run_id)["note_id"]
    other_text = NOTE + " Control en un mes."
    other_note = db.add_note(other_text, "sample:es_01", "es")
    newer = db.save_run(other_note, make_result(other_text), {"language": "en"}, user="ana")
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.record_decision(run_id, "I10", "reject", user="bea", reason="no evidence")
    db.submit(run_id, [{"code": "E11.9"}], user="ana")
    db.submit(run_id, [{"code": "E11.9"}, {"code": "I10"}], user="bea")

    latest, first = db.recent_runs()
    assert (latest["id"], first["id"]) == (newer, run_id)  # newest first
    assert first["note_id"] == note_id and first["note_preview"].startswith("Paciente con diabetes")
    assert (first["n_decisions"], first["n_submissions"]) == (2, 2) and first["last_submitted_at"]
    assert first["language"] == "es"  # the note's, when the run's settings do not say
    assert latest["language"] == "en" and latest["note_source"] == "sample:es_01"
    assert (latest["n_decisions"], latest["n_submissions"], latest["last_submitted_at"]) == (0, 0, None)
    assert [r["id"] for r in db.recent_runs(limit=1)] == [newer]
    assert len(db.recent_runs(preview_chars=8)[1]["note_preview"]) == 8


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(db: DecisionStore, run_id: int) -> None:
    db.record_decision(run_id, "I10", "reject", user="+Ana", reason='=HYPERLINK("http://evil.example","x")')
    db.record_decision(run_id, "E11.9", "edit", user="@Ben", replacement_code="E11.65", reason="-1+2")
    db.submit(run_id, [{"code": "E11.65", "description": "=SUM(1)", "origin": "edited", "replaces": "E11.9"}],
              user="-Cid")
    rows = list(csv.DictReader(io.StringIO(db.export_decisions("csv"))))
    assert [(r["user"], r["reason"]) for r in rows] == [
        ("'+Ana", '\'=HYPERLINK("http://evil.example","x")'), ("'@Ben", "'-1+2")]
    [row] = list(csv.DictReader(io.StringIO(db.export_submissions("csv"))))
    assert (row["user"], row["description"]) == ("'-Cid", "'=SUM(1)")
    assert (row["language"], row["origin"], row["replaces"]) == ("es", "edited", "E11.9")
    assert db.decisions()[0]["reason"].startswith("=")  # stored as typed; only the CSV cell is neutralised


def test_coder_names_are_one_line_of_bounded_length(db: DecisionStore, run_id: int) -> None:
    db.record_decision(run_id, "I10", "accept", user="  Ana   Pérez ")
    assert db.decisions()[0]["user"] == "Ana Pérez"
    with pytest.raises(ValueError, match="at most 255"):
        db.record_decision(run_id, "I10", "accept", user="A" * 300)
    assert _count(db, Decision) == 1


def test_audit_of_a_code_a_coder_put_in_place_of_a_suggested_one(db: DecisionStore, run_id: int) -> None:
    evidence = [_span(NOTE, "diabetes mellitus tipo 2")]
    db.record_decision(run_id, "E11.9", "edit", user="ana", replacement_code="E11.65", evidence=evidence,
                       reason="hyperglycaemia documented")
    audit = db.code_audit(run_id, "E11.65")
    assert not audit["suggested"] and audit["evidence"][0]["text"] == "diabetes mellitus tipo 2"
    assert audit["rationale"] == "put in place of E11.9 by ana: hyperglycaemia documented"
    assert audit["current"]["action"] == "edit" and audit["current"]["code"] == "E11.9"


def test_a_store_that_cannot_be_opened_or_written_says_so_and_keeps_its_data(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_database = tmp_path / "decisions.sqlite"
    not_a_database.write_text("these are notes, not a database")
    with pytest.raises(store_module.StoreUnavailable, match="cannot be opened"):
        DecisionStore(f"sqlite:///{not_a_database}")
    assert not_a_database.read_text() == "these are notes, not a database"
    a_file = tmp_path / "state"
    a_file.write_text("")
    with pytest.raises(store_module.StoreUnavailable, match="folder cannot be used"):
        DecisionStore(f"sqlite:///{a_file / 'decisions.sqlite'}")

    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    db = DecisionStore(url)
    run_id = db.save_run(db.add_note(NOTE, "paste", "es"), make_result(), {}, user="ana")
    import sqlite3

    other = sqlite3.connect(tmp_path / "busy.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(store_module.StoreUnavailable, match="nothing was recorded: try again"):
            db.record_decision(run_id, "I10", "accept", user="ana")
    finally:
        other.execute("ROLLBACK")
        other.close()
    db.record_decision(run_id, "I10", "accept", user="ana")
    assert [d["code"] for d in db.decisions()] == ["I10"]
