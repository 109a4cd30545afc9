"""Worklist throughput: import N notes, then pre-code them with 1 and with 2 worker processes, on SQLite and on a real
PostgreSQL server started on 127.0.0.1 for the measurement. Prints import notes/s, coding notes/s, p95 claim latency
and checks that every note was coded exactly once.

    .venv/bin/python bench/worklist.py                       # 1,000 notes, 1 and 2 workers, SQLite and PostgreSQL
    .venv/bin/python bench/worklist.py --notes 200 --stores sqlite --workers 1

Notes are CodiEsp's Spanish train and dev cases, repeated as often as needed; each repeat ends with "(copia N)",
since the worklist queues a text only once. Workers code with backend ``none`` and the default strategy unless
``--backend`` / ``--strategy`` say otherwise (an LLM backend takes seconds to minutes per note). Coding notes/s is
measured from the first claim (the workers load the code sets before claiming) to the last note stored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.datasets.codiesp import CodiEsp  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.store import DecisionStore  # noqa: E402
from core.worklist.queue import NewChart, WorklistQueue  # noqa: E402


def _notes(n: int) -> list[NewChart]:
    settings = load_settings()
    corpus = CodiEsp.from_settings(settings)
    cases = [(split, case_id) for split in ("train", "dev") for case_id in (corpus.case_ids(split, "es") if corpus else [])]
    if not cases:
        sys.exit(f"CodiEsp not found under {settings.resolve(settings.codiesp_dir)}")
    charts = []
    for i in range(n):
        split, case_id = cases[i % len(cases)]
        copy = i // len(cases)
        text = corpus.case_text(split, "es", case_id) + (f"\n\n(copia {copy})" if copy else "")
        charts.append(NewChart(text=text, source=f"bench/{case_id}/{copy}", language="es",
                               external_id=f"{case_id}#{copy}"))
    return charts


def _pg_binary(name: str) -> str | None:
    for folder in [Path("/usr/local/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


@contextmanager
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 (run as the postgres user when this runs as root)."""
    initdb, server = _pg_binary("initdb"), _pg_binary("postgres")
    if not (initdb and server):
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run([*as_pg, initdb, "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([*as_pg, server, "-D", str(root / "data"), "-p", str(port), "-h", "127.0.0.1", "-k",
                                str(root), "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("postgres did not start") from None
                time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _reset(url: str) -> None:
    from sqlalchemy import text

    from core.store import engine as store_module

    store = DecisionStore(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.engine.dispose()
    store_module._ENGINES.pop(url, None)


def measure(url: str, charts: list[NewChart], workers: int, extra: list[str]) -> dict:
    queue = WorklistQueue(DecisionStore(url))
    started = time.perf_counter()
    ids = queue.enqueue_many(charts)
    import_s = time.perf_counter() - started
    assert None not in ids, "some notes were already queued: use a fresh store"
    command = [sys.executable, "-m", "core", "worker", "--until-empty", "--json", "-q", "--db-url", url, *extra]
    launched = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
    summaries = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"a worker failed: {err[-2000:]}")
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - launched
    status = queue.status()
    busy = [s for s in summaries if s["first_claim_at"]]
    coding_s = max(s["last_done_at"] for s in busy) - min(s["first_claim_at"] for s in busy)
    return {
        "notes": len(charts), "workers": workers,
        "import_notes_per_s": round(len(charts) / import_s, 1),
        "coding_notes_per_s": round(status["precoded"] / coding_s, 2),
        "claim_p95_ms": max(s["claim_p95_ms"] for s in summaries),
        "claim_p50_ms": max(s["claim_p50_ms"] for s in summaries),
        "per_worker": [s["coded"] for s in summaries],
        "load_s": [s["load_s"] for s in summaries], "wall_s": round(wall, 1),
        "exactly_once": (status["precoded"], status["runs"], status["queued"]) == (len(charts), len(charts), 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--backend", default="none")
    parser.add_argument("--strategy", help="default: the settings' strategy")
    args = parser.parse_args()
    extra = ["--backend", args.backend] + (["--strategy", args.strategy] if args.strategy else [])
    charts = _notes(args.notes)
    rows = []
    for store in args.stores:
        for workers in args.workers:
            if store == "sqlite":
                folder = Path(tempfile.mkdtemp(prefix="bench-wl-"))
                try:
                    row = measure(f"sqlite:///{folder / 'decisions.sqlite'}", charts, workers, extra)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
            else:
                with postgres() as url:
                    _reset(url)
                    row = measure(url, charts, workers, extra)
            rows.append({"store": store, **row})
            print(json.dumps(rows[-1]), flush=True)
    print("\n| store | workers | import notes/s | coding notes/s | p95 claim | exactly once |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['store']} | {r['workers']} | {r['import_notes_per_s']} | {r['coding_notes_per_s']} | "
              f"{r['claim_p95_ms']} ms | {'yes' if r['exactly_once'] else 'NO'} |")


if __name__ == "__main__":
    main()
