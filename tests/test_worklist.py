"""The worklist on real SQLite stores: import with per-file reasons, the queue's leases and states, the worker, the
CLI, throughput figures, and two worker processes sharing one store (every chart coded exactly once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SHARED_DATA, needs_shared_data
from sqlalchemy import func, select, text
from test_store import NOTE, make_result

from core.cli import main as cli_main
from core.settings import Settings
from core.store import DecisionStore
from core.store import engine as store_module
from core.store.models import Run, utcnow
from core.store.worklist import WorklistItem
from core.worklist.intake import MAX_NOTE_BYTES, import_charts
from core.worklist.queue import NewChart, WorklistQueue
from core.worklist.throughput import throughput
from core.worklist.worker import run_worker

ROOT = Path(__file__).resolve().parent.parent
DEV_TEXTS = SHARED_DATA / "codiesp" / "dev" / "text_files"


@pytest.fixture
def store(tmp_path: Path) -> DecisionStore:
    return DecisionStore(f"sqlite:///{tmp_path / 'decisions.sqlite'}")


@pytest.fixture
def queue(store: DecisionStore) -> WorklistQueue:
    return WorklistQueue(store)


def _queue_notes(queue: WorklistQueue, n: int, **kwargs) -> list[int]:
    ids = queue.enqueue_many([NewChart(text=f"{NOTE} Nota {i}.", source=f"t/{i}", language="es", external_id=str(i),
                                       **kwargs) for i in range(n)])
    assert None not in ids
    return ids  # type: ignore[return-value]


def _precode(queue: WorklistQueue, worker: str = "w1") -> int:
    chart = queue.claim_for_coding(worker)
    assert chart is not None
    run_id = queue.complete(chart.id, worker, make_result(), {"language": "es"})
    assert run_id is not None
    return chart.id


# --------------------------------------------------------------------------- import


def test_import_reports_bad_files_and_still_imports_the_rest(tmp_path: Path, queue: WorklistQueue) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Paciente con hipertensión arterial.", encoding="utf-8")
    (folder / "b.txt").write_bytes("Diabetes mellitus tipo 2, sin complicaciones. Año 2020.".encode("cp1252"))
    (folder / "c.txt").write_text("Paciente con hipertensión arterial.", encoding="utf-8")  # same text as a.txt
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("   \n\t ", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (folder / "huge.txt").write_bytes(b"a" * (MAX_NOTE_BYTES + 1))
    (folder / "readme.md").write_text("not a note", encoding="utf-8")

    report = import_charts(queue, folder, language="es", priority=2, assignee="ana")

    assert sorted(report.queued) == ["a", "b"] and report.duplicates == ["c"]
    reasons = {Path(item).name: reason for item, reason in report.problems}
    assert set(reasons) == {"empty.txt", "blank.txt", "binary.txt", "huge.txt"}
    assert "empty" in reasons["empty.txt"] and "empty" in reasons["blank.txt"]
    assert "binary" in reasons["binary.txt"] and "limit" in reasons["huge.txt"]
    assert [Path(item).name for item, _ in report.notices] == ["b.txt"]  # read as Windows-1252, and said so
    assert [Path(p).name for p in report.ignored] == ["readme.md"]
    charts = queue.items()
    assert [(c.external_id, c.state, c.priority, c.assignee, c.language) for c in charts] == [
        ("a", "queued", 2, "ana", "es"), ("b", "queued", 2, "ana", "es")]
    assert "Año" in queue.store.get_note(charts[1].note_id)["text"]

    again = import_charts(queue, folder, language="es")  # idempotent: the same texts are never queued twice
    assert again.queued == [] and sorted(again.duplicates) == ["a", "b", "c"] and len(queue.items()) == 2


def test_import_jsonl_csv_and_a_codiesp_split(tmp_path: Path, queue: WorklistQueue) -> None:
    jsonl = tmp_path / "notes.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"id": "j1", "text": "Paciente con fiebre.", "lang": "es"}),
        json.dumps({"id": "j2", "text": "Patient with chest pain."}),
        "{not json",
        json.dumps({"id": "j3"}),
        json.dumps({"id": "j4", "text": "x", "lang": "fr"}),
        json.dumps({"text": "no id"}),
        json.dumps({"id": "j5", "text": "Cafe\u0301 y fiebre alta."}),  # decomposed accent: stored composed (NFC)
    ]), encoding="utf-8")
    report = import_charts(queue, jsonl, language="en")
    assert report.queued == ["j1", "j2", "j5"]
    problems = dict(report.problems)
    assert "not valid JSON" in problems[f"{jsonl}:3"] and "no text" in problems[f"{jsonl}:4 (id j3)"]
    assert "lang must be one of" in problems[f"{jsonl}:5 (id j4)"] and problems[f"{jsonl}:6"] == "no id"
    by_id = {c.external_id: c for c in queue.items()}
    assert by_id["j1"].language == "es" and by_id["j2"].language == "en"  # the row's lang, else --lang
    assert queue.store.get_note(by_id["j5"].note_id)["text"] == "Café y fiebre alta."

    table = tmp_path / "notes.csv"
    table.write_text('id,text\nc1,"Dolor torácico, con ""disnea""."\nc2,\n', encoding="utf-8")
    report = import_charts(queue, table, language="es")
    assert report.queued == ["c1"] and "empty" in dict(report.problems)[f"{table}:3 (id c2)"]
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("name,body\nx,y\n", encoding="utf-8")
    assert "id and text" in import_charts(queue, bad_header, language="es").problems[0][1]

    split = tmp_path / "codiesp" / "dev"
    (split / "text_files").mkdir(parents=True)
    (split / "text_files" / "S1.txt").write_text("Mujer de 50 años con asma.", encoding="utf-8")
    report = import_charts(queue, split, language="es")
    assert report.queued == ["S1"] and queue.items()[-1].source == "codiesp:dev/S1"
    with pytest.raises(ValueError, match="text_files_en"):
        import_charts(queue, split, language="en")
    with pytest.raises(ValueError, match="does not exist"):
        import_charts(queue, tmp_path / "missing", language="es")


# --------------------------------------------------------------------------- the queue


def test_worker_lease_complete_fail_retry(queue: WorklistQueue) -> None:
    first, second, _third = _queue_notes(queue, 3)
    chart = queue.claim_for_coding("w1", lease_s=60)
    assert chart.id == first and chart.state == "coding" and chart.attempts == 1
    assert queue.claim_for_coding("w2").id == second  # a leased chart is not handed out twice
    assert queue.renew(first, "w1") and not queue.renew(first, "w2")
    assert queue.complete(first, "w2", make_result(), {}) is None  # only the lease holder stores a run
    run_id = queue.complete(first, "w1", make_result(), {"language": "es"})
    done = queue.get(first)
    assert done.state == "precoded" and done.run_id == run_id and (done.n_codes, done.n_candidates) == (2, 1)
    assert done.lease_owner is None and queue.store.get_run(run_id)["user"] == "w1"
    assert queue.complete(first, "w1", make_result(), {}) is None  # a second completion stores nothing

    assert queue.fail(second, "w2", "RuntimeError: model server down")
    assert queue.get(second).state == "failed" and "server down" in queue.get(second).error
    assert queue.retry() == 1 and queue.get(second).state == "queued" and queue.get(second).attempts == 0
    assert queue.claim_for_coding("w3").id == second  # oldest first among equal priorities
    assert queue.release_coding(second, "w3") and queue.get(second).state == "queued"
    assert queue.pending_coding() == 2 and queue.languages_waiting() == ["es"]
    with queue.store.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar() == 1


def test_an_expired_lease_is_claimed_again_and_the_first_worker_result_is_discarded(queue: WorklistQueue) -> None:
    [item] = _queue_notes(queue, 1)
    assert queue.claim_for_coding("dead", lease_s=60).id == item
    assert queue.claim_for_coding("w2") is None and not queue.claimable()  # the lease still holds
    with queue.store._write() as session:  # the lease ran out
        session.get(WorklistItem, item).lease_expires_at = utcnow() - timedelta(seconds=1)
    assert queue.claimable()
    taken = queue.claim_for_coding("w2")
    assert taken.id == item and taken.lease_owner == "w2" and taken.attempts == 2
    assert queue.complete(item, "dead", make_result(), {}) is None  # too late: nothing stored
    assert queue.complete(item, "w2", make_result(), {}) is not None
    assert queue.status()["runs"] == 1


def test_a_chart_that_kills_its_workers_is_failed_after_max_attempts(queue: WorklistQueue) -> None:
    [item] = _queue_notes(queue, 1)
    for attempt in range(3):
        assert queue.claim_for_coding(f"w{attempt}", lease_s=-1, max_attempts=3).id == item  # dies at once
    assert queue.claim_for_coding("w9", max_attempts=3) is None
    chart = queue.get(item)
    assert chart.state == "failed" and "stopped 3 times" in chart.error


def test_coders_claim_distinct_charts_assigned_first_resume_release_submit(queue: WorklistQueue) -> None:
    ids = _queue_notes(queue, 3)
    [assigned] = queue.enqueue_many([NewChart(text="Nota asignada.", source="t/a", language="es", assignee="ben")])
    for _ in range(4):
        _precode(queue)
    assert queue.claim_for_review("ana", language="en") is None
    ana = queue.claim_for_review("ana")
    assert ana.id == ids[0] and ana.state == "in_review" and ana.reviewer == "ana" and ana.opened_at
    assert queue.claim_for_review("ana").id == ana.id  # her open chart, not a second one
    ben = queue.claim_for_review("ben")
    assert ben.id == assigned  # assigned to him: first, and never given to ana
    cid = queue.claim_for_review("cid")
    assert cid.id == ids[1] and len({ana.id, ben.id, cid.id}) == 3
    assert not queue.release_review(ana.id, "ben") and queue.release_review(ana.id, "ana")
    assert queue.get(ana.id).state == "precoded" and queue.get(ana.id).reviewer is None

    store = queue.store
    submission = store.submit(ben.run_id, [{"code": "E11.9"}], user="ben")
    assert not queue.mark_submitted(ben.id, "ana", submission) and queue.mark_submitted(ben.id, "ben", submission)
    assert queue.get(ben.id).state == "submitted" and queue.get(ben.id).submitted_at
    store.submit(cid.run_id, [], user="cid")  # the workspace's own "Submit chart" button
    assert queue.sync_submitted(cid.id) and queue.get(cid.id).state == "submitted"
    status = queue.status()
    assert (status["precoded"], status["submitted"], status["runs"]) == (2, 2, 4)
    assert status["coders"] == {"ben": {"assigned": 0, "in_review": 0, "submitted": 1},
                                "cid": {"assigned": 0, "in_review": 0, "submitted": 1}}
    with pytest.raises(ValueError, match="coder name"):
        queue.claim_for_review("")


def test_concurrent_coders_never_share_a_chart(store: DecisionStore, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    queue = WorklistQueue(store)
    _queue_notes(queue, 12)
    for _ in range(12):
        _precode(queue)
    monkeypatch.setattr(store_module, "_ENGINES", {})
    queues = [WorklistQueue(DecisionStore(store.url)) for _ in range(2)]  # two processes' engines
    claimed: list[int] = []
    lock = threading.Lock()

    def coder(name: str, q: WorklistQueue) -> None:
        chart = q.claim_for_review(name)
        with lock:
            claimed.append(chart.id)

    threads = [threading.Thread(target=coder, args=(f"c{i}", queues[i % 2])) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(c.id for c in queue.items()) and len(set(claimed)) == 12


def test_an_existing_store_gains_the_worklist_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = DecisionStore(f"sqlite:///{path}")
    note_id = store.add_note(NOTE, "paste", "es")
    store.save_run(note_id, make_result(), {}, user="ana")
    with store.engine.begin() as conn:  # a store written before the worklist existed
        conn.execute(text("DROP TABLE worklist"))
    store.engine.dispose()
    store_module._ENGINES.pop(store.url, None)
    reopened = DecisionStore(f"sqlite:///{path}")
    queue = WorklistQueue(reopened)
    assert queue.status()["total"] == 0 and len(reopened.runs_for_note(note_id)) == 1
    [item] = queue.enqueue_many([NewChart(text=NOTE, source="again", language="es")])
    assert queue.get(item).note_id == note_id  # the note already stored is queued, not copied


# --------------------------------------------------------------------------- worker, CLI and throughput


@needs_shared_data
def test_worker_codes_charts_with_code_note_and_records_failures(kb, base_settings: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = base_settings.with_overrides(db_url=f"sqlite:///{tmp_path / 'w.sqlite'}", strategy="deterministic")
    store = DecisionStore(settings.database_url)
    queue = WorklistQueue(store)
    texts = sorted(DEV_TEXTS.glob("*.txt"))[:3]
    queue.enqueue_many([NewChart(text=p.read_text(encoding="utf-8"), source=p.stem, language="es",
                                 external_id=p.stem) for p in texts])
    import core.strategies.runner as runner

    real = runner.code_note
    poisoned = texts[1].read_text(encoding="utf-8")

    def flaky(text: str, *args, **kwargs):
        if text == poisoned:
            raise RuntimeError("the model server went away")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(runner, "code_note", flaky)
    seen: list[tuple[str, str]] = []
    stats = run_worker(settings, until_empty=True, store=store, on_chart=lambda c, o, d: seen.append((c.external_id, o)))
    assert (stats.coded, stats.failed) == (2, 1) and [o for _, o in seen] == ["coded", "failed", "coded"]
    failed = queue.items(states=["failed"])[0]
    assert failed.external_id == texts[1].stem and "RuntimeError: the model server went away" in failed.error
    coded = queue.items(states=["precoded"])[0]
    run = store.get_run(coded.run_id)
    assert run["settings"]["language"] == "es" and run["strategy"] == "deterministic" and run["user"] == stats.worker
    direct = real(texts[0].read_text(encoding="utf-8"), settings.with_overrides(language="es"), kb=kb)
    assert [s["code"] for s in run["suggestions"] if s["status"] == "code"] == [c.code for c in direct.codes]
    summary = stats.summary()
    assert summary["coded"] == 2 and summary["claim_p95_ms"] is not None

    ana = queue.claim_for_review("ana")
    store.record_decision(ana.run_id, "Z00.0", "add", user="ana")
    first_code = next(s for s in run["suggestions"] if s["status"] == "code")["code"]
    store.record_decision(ana.run_id, first_code, "accept", user="ana")
    queue.mark_submitted(ana.id, "ana", store.submit(ana.run_id, [{"code": first_code}], user="ana"))
    figures = throughput(store)
    row = figures["per_coder"].set_index("coder").loc["ana"]
    assert row["charts"] == 1 and row["accepted"] == 1 and row["added"] == 1 and row["add_rate"] == 0.5
    assert "(coder)" in set(figures["per_source"]["source"]) and figures["queue"]["by_state"]["failed"] == 1
    assert figures["submitted"] == 1 and figures["over_time"]["charts"].sum() == 1


def _cli(*args: str) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(list(args))
    return code, out.getvalue()


def test_cli_import_status_list_retry_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.txt").write_text("Paciente con asma.", encoding="utf-8")
    (folder / "two.txt").write_bytes(b"\x00\x01binary")
    code, out = _cli("worklist", "import", str(folder), "--lang", "es", "--db-url", url, "--assign", "ana")
    assert code == 1 and "queued 1 chart(s)" in out
    assert "not imported:" in capsys.readouterr().err
    code, out = _cli("worklist", "status", "--json", "--db-url", url)
    status = json.loads(out)
    assert code == 0 and status["queued"] == 1 and status["runs"] == 0 and status["coders"]["ana"]["assigned"] == 1
    code, out = _cli("worklist", "list", "--json", "--db-url", url, "--coder", "ana")
    assert json.loads(out)[0]["external_id"] == "one"
    assert _cli("worklist", "retry", "--db-url", url)[1].startswith("0 failed")
    assert _cli("worklist", "release", "99", "--db-url", url)[0] == 1
    assert _cli("worklist", "import", str(tmp_path / "nope"), "--db-url", url)[0] == 2


@needs_shared_data
def test_two_worker_processes_code_40_dev_notes_exactly_once(kb, base_settings: Settings, tmp_path: Path) -> None:
    from core.strategies.runner import code_note

    code_note("Hipertensión.", base_settings.with_overrides(language="es", strategy="deterministic"), kb=kb)
    split = tmp_path / "codiesp" / "dev" / "text_files"
    split.mkdir(parents=True)
    for path in sorted(DEV_TEXTS.glob("*.txt"))[:40]:
        (split / path.name).write_bytes(path.read_bytes())
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    assert _cli("worklist", "import", str(split.parent), "--lang", "es", "--db-url", url)[0] == 0
    queue = WorklistQueue(DecisionStore(url))
    env = {**os.environ, "CODER_EMBEDDING_MODEL": "none", "CODER_CONFIG": str(tmp_path / "none.toml"),
           "CODER_DATA_DIR": str(SHARED_DATA)}
    command = [sys.executable, "-m", "core", "worker", "--until-empty", "--backend", "none", "--strategy",
               "deterministic", "--db-url", url, "--json", "-q", "--poll-s", "0.2", "--delay-s", "0.2"]  # 8 s of work
    # between them: both are loaded and claiming long before the queue is empty
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    summaries = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    code, out = _cli("worklist", "status", "--json", "--db-url", url)
    status = json.loads(out)
    assert (status["precoded"], status["runs"], status["queued"], status["coding"]) == (40, 40, 0, 0)
    assert sum(s["coded"] for s in summaries) == 40 and all(s["lost"] == 0 for s in summaries)
    assert all(s["coded"] > 0 for s in summaries), summaries  # both took part
    with queue.store.engine.begin() as conn:
        per_note = conn.execute(select(Run.note_id, func.count()).group_by(Run.note_id)).all()
    assert len(per_note) == 40 and {n for _, n in per_note} == {1}
