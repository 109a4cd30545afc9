"""The pre-coding worker: claim a queued chart, code it with ``code_note`` as the app does, store the run, repeat.

One knowledge base per process (loaded before the first claim, so a lease is never spent loading it). While a
chart is being coded a heartbeat thread renews its lease; a worker that dies stops renewing, its lease expires
and another worker codes the chart. A chart whose coding raises goes to ``failed`` with the reason and the worker
goes on with the next one. Coding uses the settings the worker was started with (backend, strategy, model...)
in the chart's own language, so a configured language model refines every chart here, not in a coder's browser.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.settings import Settings
from core.store import DecisionStore, StoreUnavailable
from core.worklist.queue import LEASE_S, MAX_ATTEMPTS, Chart, WorklistQueue

log = logging.getLogger(__name__)

LEARNED_TERMS_TTL_S = 60.0  # coders' learned terms are re-read this often, not for every chart
STORE_RETRY_S = 5.0
WARM_UP_NOTE = "Hypertension."  # coded once per language before the first claim, to load every resource


def new_worker_id() -> str:
    return f"worker@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 2)


@dataclass
class WorkerStats:
    worker: str
    coded: int = 0
    failed: int = 0
    lost: int = 0  # coded, but another worker had taken the chart over: the result was discarded
    claim_ms: list[float] = field(default_factory=list)  # every claim that returned a chart
    coding_ms: list[float] = field(default_factory=list)
    load_s: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    first_claim_at: float | None = None  # wall-clock (time.time()) bounds of the coding, to time several workers
    last_done_at: float | None = None

    def summary(self) -> dict[str, Any]:
        elapsed = (self.finished or time.perf_counter()) - self.started
        busy = elapsed - self.load_s
        return {
            "worker": self.worker, "coded": self.coded, "failed": self.failed, "lost": self.lost,
            "elapsed_s": round(elapsed, 2), "load_s": round(self.load_s, 2),
            "charts_per_s": round(self.coded / busy, 2) if busy > 0 and self.coded else 0.0,
            "claim_p50_ms": _percentile(self.claim_ms, 50), "claim_p95_ms": _percentile(self.claim_ms, 95),
            "coding_p50_ms": _percentile(self.coding_ms, 50), "coding_p95_ms": _percentile(self.coding_ms, 95),
            "first_claim_at": self.first_claim_at, "last_done_at": self.last_done_at,
        }


class _Heartbeat(threading.Thread):
    """Renews a chart's lease every third of the lease while the chart is being coded."""

    def __init__(self, queue: WorklistQueue, item_id: int, worker: str, lease_s: float) -> None:
        super().__init__(name=f"lease-{item_id}", daemon=True)
        self.queue, self.item_id, self.worker, self.lease_s = queue, item_id, worker, lease_s
        self.done = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.done.wait(self.lease_s / 3):
            try:
                if not self.queue.renew(self.item_id, self.worker, self.lease_s):
                    self.lost = True
                    return
            except StoreUnavailable as exc:  # the next renewal may get through before the lease ends
                log.warning("could not renew the lease on chart %s: %s", self.item_id, exc)


class _LearnedTerms:
    def __init__(self, store: DecisionStore, enabled: bool) -> None:
        self.store, self.enabled = store, enabled
        self._cache: dict[str, tuple[float, list[dict]]] = {}

    def get(self, language: str) -> list[dict]:
        if not self.enabled:
            return []
        cached = self._cache.get(language)
        if cached is None or time.monotonic() - cached[0] > LEARNED_TERMS_TTL_S:
            cached = self._cache[language] = (time.monotonic(), self.store.learned_terms(language))
        return cached[1]


def run_worker(
    settings: Settings,
    *,
    until_empty: bool = False,
    lease_s: float = LEASE_S,
    poll_s: float = 2.0,
    delay_s: float = 0.0,
    max_attempts: int = MAX_ATTEMPTS,
    max_charts: int | None = None,
    stop: threading.Event | None = None,
    store: DecisionStore | None = None,
    worker: str | None = None,
    on_chart: Callable[[Chart, str, str], None] | None = None,
) -> WorkerStats:
    """Pre-code charts until ``stop`` is set, ``max_charts`` were handled, or (``until_empty``) nothing is queued
    or being coded any more. ``delay_s`` waits that long with the lease held before coding each chart (a slow
    model, for fault drills). ``on_chart(chart, outcome, detail)`` is told about every chart handled."""
    from core.kb.knowledge import get_knowledge
    from core.ranking.registry import rankers_for
    from core.strategies.runner import code_note

    stop = stop or threading.Event()
    store = store or DecisionStore(settings.database_url)
    queue = WorklistQueue(store)
    stats = WorkerStats(worker or new_worker_id())
    loaded = time.perf_counter()
    kb = get_knowledge(settings)
    rankers = rankers_for(kb)
    for language in queue.languages_waiting() or [settings.language]:  # load now, not inside the first lease
        try:
            code_note(WARM_UP_NOTE, settings.with_overrides(language=language), kb=kb, rankers=rankers)
        except Exception as exc:  # noqa: BLE001 - each chart that hits the same problem is failed with its reason
            log.warning("warming up %s failed (%s); charts are coded anyway", language, exc)
    stats.load_s = time.perf_counter() - loaded
    learned = _LearnedTerms(store, settings.learn_from_decisions)
    report = on_chart or (lambda chart, outcome, detail: None)
    handled = 0
    idle = False
    while not stop.is_set() and (max_charts is None or handled < max_charts):
        started = time.perf_counter()
        try:
            # An idle worker looks before it claims: a read, where a claim takes the write lock.
            chart = None if idle and not queue.claimable() else queue.claim_for_coding(stats.worker, lease_s,
                                                                                       max_attempts)
        except StoreUnavailable as exc:
            log.warning("could not claim a chart (%s); trying again in %.0f s", exc, STORE_RETRY_S)
            stop.wait(STORE_RETRY_S)
            continue
        idle = chart is None
        if chart is None:
            if until_empty and queue.pending_coding() == 0:
                break
            stop.wait(poll_s)  # charts still being coded elsewhere may come back when their lease ends
            continue
        stats.claim_ms.append((time.perf_counter() - started) * 1000)
        stats.first_claim_at = stats.first_claim_at or time.time() - stats.claim_ms[-1] / 1000
        handled += 1
        heartbeat = _Heartbeat(queue, chart.id, stats.worker, lease_s)
        heartbeat.start()
        try:
            if delay_s:
                time.sleep(delay_s)
            coding_started = time.perf_counter()
            run_settings = settings.with_overrides(language=chart.language or settings.language)
            text = store.get_note(chart.note_id)["text"]
            try:
                result = code_note(text, run_settings, learned_terms=learned.get(run_settings.language), kb=kb,
                                   rankers=rankers)
            except Exception as exc:  # noqa: BLE001 - one chart's failure is recorded; the worker goes on
                log.warning("chart %s (%s) could not be coded: %s", chart.id, chart.external_id, exc)
                queue.fail(chart.id, stats.worker, f"{type(exc).__name__}: {exc}")
                stats.failed += 1
                report(chart, "failed", f"{type(exc).__name__}: {exc}")
                continue
            stats.coding_ms.append((time.perf_counter() - coding_started) * 1000)
            run_id = queue.complete(chart.id, stats.worker, result, run_settings.public_dict())
        except KeyboardInterrupt:  # stopping (Ctrl+C, SIGTERM): the chart goes back to the queue at once
            queue.release_coding(chart.id, stats.worker)
            raise
        except StoreUnavailable as exc:  # the lease runs out and the chart is coded again
            log.warning("chart %s was coded but could not be stored (%s)", chart.id, exc)
            stop.wait(STORE_RETRY_S)
            continue
        finally:
            heartbeat.done.set()
            stats.last_done_at = time.time()
        if run_id is None:
            stats.lost += 1
            log.warning("chart %s was taken over by another worker while this one coded it: result discarded",
                        chart.id)
            report(chart, "lost", "")
        else:
            stats.coded += 1
            log.info("chart %s (%s) pre-coded: run #%s, %d codes, %d candidates", chart.id, chart.external_id, run_id,
                     len(result.codes), len(result.candidates))
            report(chart, "coded", f"run #{run_id}: {len(result.codes)} codes, {len(result.candidates)} candidates")
    stats.finished = time.perf_counter()
    return stats
