"""The decision store on a real PostgreSQL server, started on 127.0.0.1 for this module (a hospital deployment points
``db_url`` at one). Needs the PostgreSQL server binaries (Debian package ``postgresql``) and a ``postgres`` system
user to run them as, since the server refuses to run as root; skipped with the reason when they are missing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from test_store import NOTE, make_result

from core.store import DecisionStore
from core.store import engine as store_module

BIN_DIRS = [Path("/usr/local/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


def _binary(name: str) -> str | None:
    for folder in BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    initdb, postgres = _binary("initdb"), _binary("postgres")
    if not (initdb and postgres):
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or subprocess.run(["id", "postgres"],
                                                                                capture_output=True).returncode):
        pytest.skip("running as root without a 'postgres' user to start the server as")
    # Not pytest's tmp_path: its parents are private to root, and the server runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="coder-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run(_as_postgres(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"), check=True,
                   capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        _as_postgres(postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(root), "-F"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start: {process.stderr.read().decode()[-800:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        store_module._ENGINES.pop(url, None)
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def db(server: str) -> Iterator[DecisionStore]:
    store = DecisionStore(server)
    yield store
    with store.engine.begin() as conn:  # a clean schema for the next test
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.engine.dispose()
    store_module._ENGINES.pop(server, None)


def test_runs_decisions_submissions_and_exports_on_postgresql(db: DecisionStore) -> None:
    assert db.engine.dialect.name == "postgresql"
    note_id = db.add_note(NOTE, "paste", "es")
    assert db.add_note(NOTE, "paste", "es") == note_id  # idempotent on the note's hash
    run_id = db.save_run(note_id, make_result(), {"strategy": "clh"}, user="ana")
    run = db.get_run(run_id)
    assert [s["code"] for s in run["suggestions"]][:2] == ["E11.9", "I10"] and run["trace"]
    db.record_decision(run_id, "E11.9", "accept", user="ana")
    db.record_decision(run_id, "E11.9", "reject", user="ben", reason="not supported")
    db.record_decision(run_id, "Z87.891", "add", user="ana", evidence=[{"start": 0, "end": 8, "text": "Paciente"}])
    assert [d["action"] for d in db.decisions()] == ["accept", "reject", "add"]  # append-only, oldest first
    assert db.current_state(run_id)["E11.9"]["action"] == "reject"  # the latest decision wins
    db.submit(run_id, [{"code": "E11.65", "origin": "edited"}, {"code": "Z87.891", "origin": "added"}], user="ana")
    [submission] = db.submissions(run_id=run_id)
    assert submission["note_id"] == note_id and [c["code"] for c in submission["codes"]] == ["E11.65", "Z87.891"]
    assert "Z87.891" in db.export_decisions("csv") and json.loads(db.export_submissions("json")) == db.submissions()
    assert any(t["code"] == "Z87.891" for t in db.learned_terms())
    with pytest.raises(ValueError, match="does not exist"):
        db.record_decision(404, "I10", "accept", user="ana")  # nothing written
    assert len(db.decisions()) == 3


def test_concurrent_writers_on_postgresql(db: DecisionStore, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    note_id = db.add_note(NOTE, "paste", "es")
    run_id = db.save_run(note_id, make_result(), {}, user="ana")
    monkeypatch.setattr(store_module, "_ENGINES", {})
    other = DecisionStore(server)  # its own engine and pool, as a second app process would have

    def write(store: DecisionStore, user: str) -> None:
        for i in range(20):
            store.record_decision(run_id, f"Z{i:02d}.{user[0]}", "add", user=user)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(write, s, u) for s, u in zip((db, other) * 2, ("ana", "ben", "cid", "dan"),
                                                                strict=True)]:
            future.result(timeout=60)
    assert len(other.decisions()) == 80 and len(db.decisions()) == 80
    other.engine.dispose()
