"""Workers on a real PostgreSQL server (127.0.0.1): one is killed with SIGKILL in the middle of a chart, two more
finish the queue, and every chart is coded exactly once with no coder decision lost. Skipped, with the reason,
where the PostgreSQL server binaries are missing (see test_store_postgres.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED_DATA, needs_shared_data
from sqlalchemy import func, select, text
from test_store_postgres import server  # noqa: F401  (the module's PostgreSQL server fixture)

from core.settings import Settings
from core.store import DecisionStore
from core.store import engine as store_module
from core.store.models import Run
from core.worklist.queue import NewChart, WorklistQueue

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DEV_TEXTS = SHARED_DATA / "codiesp" / "dev" / "text_files"
N_CHARTS = 12
LEASE_S = 3.0


@pytest.fixture
def pg_queue(server: str) -> Iterator[WorklistQueue]:  # noqa: F811
    store = DecisionStore(server)
    yield WorklistQueue(store)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.engine.dispose()
    store_module._ENGINES.pop(server, None)


def _worker(url: str, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CODER_EMBEDDING_MODEL": "none", "CODER_CONFIG": str(tmp_path / "none.toml"),
           "CODER_DATA_DIR": str(SHARED_DATA)}
    return subprocess.Popen(
        [sys.executable, "-m", "core", "worker", "--backend", "none", "--strategy", "deterministic", "--db-url", url,
         "--lease-s", str(LEASE_S), "--poll-s", "0.2", "--json", "-q", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@needs_shared_data
def test_a_worker_killed_mid_chart_loses_nothing(pg_queue: WorklistQueue, server: str, kb,  # noqa: F811
                                                 base_settings: Settings, tmp_path: Path) -> None:
    from core.strategies.runner import code_note

    code_note("Hipertensión.", base_settings.with_overrides(language="es", strategy="deterministic"), kb=kb)
    queue, store = pg_queue, pg_queue.store
    texts = sorted(DEV_TEXTS.glob("*.txt"))[:N_CHARTS]
    queue.enqueue_many([NewChart(text=p.read_text(encoding="utf-8"), source=f"codiesp:dev/{p.stem}", language="es",
                                 external_id=p.stem) for p in texts])

    doomed = _worker(server, tmp_path, "--delay-s", "1.5")  # a slow model: most of its time is spent mid-chart
    try:
        _wait(lambda: queue.status()["precoded"] >= 2, 180, "the first worker to pre-code two charts")
        # A coder reviews a pre-coded chart while the worker goes on.
        chart = queue.claim_for_review("ana")
        first_code = next(s["code"] for s in store.get_run(chart.run_id)["suggestions"])
        store.record_decision(chart.run_id, first_code, "accept", user="ana")
        store.record_decision(chart.run_id, "Z00.00", "add", user="ana", reason="seen in the note")
        queue.mark_submitted(chart.id, "ana", store.submit(chart.run_id, [{"code": first_code}], user="ana"))

        def holding() -> list:
            return [c for c in queue.items(states=["coding"]) if c.lease_owner and f":{doomed.pid}:" in c.lease_owner]

        _wait(lambda: bool(holding()), 60, "the first worker to hold a chart")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=30)
    [orphan] = holding()  # killed with its lease held: the chart it was coding has no run
    assert orphan.state == "coding" and orphan.run_id is None
    coded_before = queue.status()["precoded"] + 1  # + ana's submitted chart

    finishers = [_worker(server, tmp_path, "--until-empty") for _ in range(2)]  # two more, concurrently
    summaries = []
    for worker in finishers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))

    status = queue.status()
    assert (status["precoded"] + status["submitted"], status["runs"]) == (N_CHARTS, N_CHARTS)
    assert (status["queued"], status["coding"], status["failed"]) == (0, 0, 0)
    assert sum(s["coded"] for s in summaries) == N_CHARTS - coded_before and all(s["lost"] == 0 for s in summaries)
    with store.engine.begin() as conn:
        per_note = dict(conn.execute(select(Run.note_id, func.count()).group_by(Run.note_id)).all())
    assert len(per_note) == N_CHARTS and set(per_note.values()) == {1}  # every note coded exactly once
    retaken = queue.get(orphan.id)
    assert retaken.state == "precoded" and retaken.attempts == 2 and f":{doomed.pid}:" not in retaken.coded_by
    decisions = store.decisions(user="ana")
    assert [(d["action"], d["code"]) for d in decisions] == [("accept", first_code), ("add", "Z00.00")]
    assert queue.get(chart.id).state == "submitted" and len(store.submissions(run_id=chart.run_id)) == 1
