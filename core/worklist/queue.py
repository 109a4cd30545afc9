"""The worklist queue: how a chart moves from ``queued`` to ``submitted``, safely shared by many processes.

    queued ──worker claims──▶ coding ──run stored──▶ precoded ──coder starts it──▶ in_review ──submit──▶ submitted
                                 │  └─lease expires: another worker claims it again
                                 └─coding raised──▶ failed ──retry──▶ queued

Every transition is one short write transaction. A worker's claim is a lease: ``SELECT … FOR UPDATE SKIP LOCKED``
on PostgreSQL (workers never wait on each other's rows), one ``BEGIN IMMEDIATE`` transaction on SQLite (the
store's write lock serialises claims). A worker stores its run and marks the chart ``precoded`` in the same
commit, and only while it still holds the lease, so a chart is coded exactly once however many workers share
the store and whichever of them dies. A coder's claim (``in_review``) has no expiry: it is the coder's until
they submit it or release it (a manager can release it too).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.schema import CodingResult
from core.store import DecisionStore
from core.store.models import Note, Run, Submission, utcnow
from core.store.repository import add_run
from core.store.values import note_sha256
from core.store.worklist import STATES, WorklistItem

LEASE_S = 300.0  # a worker renews it every third of this while it codes; a dead worker's chart waits this long
MAX_ATTEMPTS = 3  # a chart whose worker died this many times is failed instead of killing a fourth one
WAITING = ("queued", "coding", "precoded")
ENQUEUE_BATCH = 200


@dataclass(frozen=True)
class Chart:
    """A worklist row as plain values (safe to keep after the session that read it is closed)."""

    id: int
    note_id: int
    external_id: str
    source: str
    language: str
    priority: int
    assignee: str | None
    state: str
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    error: str
    run_id: int | None
    coded_by: str
    n_codes: int
    n_candidates: int
    reviewer: str | None
    submission_id: int | None
    created_at: datetime
    coded_at: datetime | None
    opened_at: datetime | None
    submitted_at: datetime | None
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (v.isoformat() if isinstance(v := getattr(self, f.name), datetime) else v)
                for f in fields(self)}


_CHART_FIELDS = [f.name for f in fields(Chart)]


def _chart(row: WorklistItem) -> Chart:
    return Chart(**{name: getattr(row, name) for name in _CHART_FIELDS})


@dataclass(frozen=True)
class NewChart:
    """A note to queue: its text (already validated and in NFC), where it came from and who may review it."""

    text: str
    source: str
    language: str
    external_id: str = ""
    priority: int = 0
    assignee: str | None = None


class WorklistQueue:
    """The worklist of one decision store. Cheap to create: it shares the store's engine."""

    def __init__(self, store: DecisionStore) -> None:
        self.store = store

    # ---- intake

    def enqueue_many(self, charts: Sequence[NewChart]) -> list[int | None]:
        """Queue each chart once: the worklist id, or None for a text already queued (by hash; also a text twice in
        ``charts``). A note already stored (coded in the app) is queued with its existing id."""
        out: list[int | None] = []
        for start in range(0, len(charts), ENQUEUE_BATCH):
            batch = charts[start : start + ENQUEUE_BATCH]
            try:
                out += self._enqueue(batch)
            except IntegrityError:  # another importer queued some of these texts at the same moment
                for chart in batch:
                    try:
                        out += self._enqueue([chart])
                    except IntegrityError:
                        out.append(None)
        return out

    def _enqueue(self, batch: Sequence[NewChart]) -> list[int | None]:
        digests = [note_sha256(chart.text) for chart in batch]
        now = utcnow()
        with self.store._write() as session:
            notes = dict(session.execute(select(Note.sha256, Note.id).where(Note.sha256.in_(set(digests)))).all())
            queued = set(session.scalars(select(WorklistItem.note_id).where(WorklistItem.note_id.in_(notes.values()))))
            ids: list[int | None] = []
            for chart, digest in zip(batch, digests, strict=True):
                note_id = notes.get(digest)
                if note_id is None:
                    note = Note(sha256=digest, source=chart.source, language=chart.language, text=chart.text,
                                created_at=now)
                    session.add(note)
                    session.flush()
                    note_id = notes[digest] = note.id
                elif note_id in queued:
                    ids.append(None)
                    continue
                item = WorklistItem(note_id=note_id, external_id=chart.external_id[:255], source=chart.source[:512],
                                    language=chart.language, priority=chart.priority, assignee=chart.assignee or None,
                                    state="queued", created_at=now, updated_at=now)
                session.add(item)
                session.flush()
                queued.add(note_id)
                ids.append(item.id)
            return ids

    # ---- workers

    def claim_for_coding(self, worker: str, lease_s: float = LEASE_S, max_attempts: int = MAX_ATTEMPTS) -> Chart | None:
        """The next chart to pre-code (highest priority, then oldest), leased to ``worker``; None when none is free.

        A chart whose lease expired (its worker died or hung) is claimed again, unless its workers already died
        ``max_attempts`` times on it: then it is failed with that reason, so one poisonous note cannot kill
        every worker in turn."""
        now = utcnow()
        with self.store._write() as session:
            while True:
                row = session.scalars(
                    select(WorklistItem)
                    .where(or_(WorklistItem.state == "queued",
                               and_(WorklistItem.state == "coding", WorklistItem.lease_expires_at < now)))
                    .order_by(WorklistItem.priority.desc(), WorklistItem.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                if row.state == "coding" and row.attempts >= max_attempts:
                    row.state, row.updated_at = "failed", now
                    row.error = (f"the worker coding it stopped {row.attempts} times before finishing (last: "
                                 f"{row.lease_owner}); retry it once the cause is fixed")
                    row.lease_owner = row.lease_expires_at = None
                    session.flush()
                    continue
                row.state, row.lease_owner, row.updated_at = "coding", worker, now
                row.lease_expires_at = now + timedelta(seconds=lease_s)
                row.attempts += 1
                row.error = ""
                session.flush()
                return _chart(row)

    def claimable(self) -> bool:
        """Whether a claim could return a chart now (a read: idle workers poll this, not the write lock)."""
        now = utcnow()
        with self.store._read() as session:
            return session.scalar(
                select(WorklistItem.id)
                .where(or_(WorklistItem.state == "queued",
                           and_(WorklistItem.state == "coding", WorklistItem.lease_expires_at < now)))
                .limit(1)
            ) is not None

    @staticmethod
    def _held(session: Session, item_id: int, worker: str) -> WorklistItem | None:
        return session.scalars(
            select(WorklistItem)
            .where(WorklistItem.id == item_id, WorklistItem.state == "coding", WorklistItem.lease_owner == worker)
            .with_for_update()
        ).first()

    def renew(self, item_id: int, worker: str, lease_s: float = LEASE_S) -> bool:
        """Extend ``worker``'s lease; False when the worker no longer holds the chart."""
        with self.store._write() as session:
            row = self._held(session, item_id, worker)
            if row is None:
                return False
            row.lease_expires_at = utcnow() + timedelta(seconds=lease_s)
            return True

    def complete(self, item_id: int, worker: str, result: CodingResult, settings: dict[str, Any]) -> int | None:
        """Store the run and mark the chart ``precoded`` in one commit, if ``worker`` still holds it: the run id,
        or None (nothing stored) when another worker took the chart after this one's lease expired."""
        now = utcnow()
        with self.store._write() as session:
            row = self._held(session, item_id, worker)
            if row is None:
                return None
            run_id = add_run(session, row.note_id, result, settings, user=worker)
            row.state, row.run_id, row.coded_by, row.coded_at, row.updated_at = "precoded", run_id, worker, now, now
            row.n_codes, row.n_candidates = len(result.codes), len(result.candidates)
            row.lease_owner = row.lease_expires_at = None
            return run_id

    def fail(self, item_id: int, worker: str, reason: str) -> bool:
        """Mark a chart ``failed`` with the reason (if ``worker`` still holds it)."""
        with self.store._write() as session:
            row = self._held(session, item_id, worker)
            if row is None:
                return False
            row.state, row.error, row.updated_at = "failed", reason[:2000], utcnow()
            row.lease_owner = row.lease_expires_at = None
            return True

    def release_coding(self, item_id: int, worker: str) -> bool:
        """Put a chart a stopping worker holds back in the queue at once (its claim does not count as an attempt)."""
        with self.store._write() as session:
            row = self._held(session, item_id, worker)
            if row is None:
                return False
            row.state, row.updated_at, row.attempts = "queued", utcnow(), max(0, row.attempts - 1)
            row.lease_owner = row.lease_expires_at = None
            return True

    def pending_coding(self) -> int:
        """Charts queued or being coded: a worker run ``--until-empty`` waits for these."""
        with self.store._read() as session:
            return int(session.scalar(select(func.count()).where(WorklistItem.state.in_(("queued", "coding")))) or 0)

    def languages_waiting(self) -> list[str]:
        """The languages of the charts waiting to be pre-coded."""
        with self.store._read() as session:
            found = session.scalars(
                select(WorklistItem.language).where(WorklistItem.state.in_(("queued", "coding"))).distinct())
            return sorted(language for language in found if language)

    def retry(self, ids: Iterable[int] | None = None) -> int:
        """Failed charts (all, or those of ``ids``) back to ``queued``; how many."""
        with self.store._write() as session:
            query = select(WorklistItem).where(WorklistItem.state == "failed")
            if ids is not None:
                query = query.where(WorklistItem.id.in_(list(ids)))
            rows = list(session.scalars(query))
            for row in rows:
                row.state, row.attempts, row.updated_at = "queued", 0, utcnow()
            return len(rows)

    # ---- coders

    def current_review(self, coder: str) -> Chart | None:
        """The chart ``coder`` has open (claimed, not submitted), if any."""
        with self.store._read() as session:
            row = session.scalars(
                select(WorklistItem)
                .where(WorklistItem.state == "in_review", WorklistItem.reviewer == coder)
                .order_by(WorklistItem.opened_at, WorklistItem.id)
                .limit(1)
            ).first()
            return _chart(row) if row is not None else None

    def claim_for_review(self, coder: str, language: str | None = None) -> Chart | None:
        """The chart ``coder`` should review now: the one they already have open, else the next pre-coded chart
        (assigned to them first, then by priority and age; never one assigned to another coder), which becomes
        theirs. None when no pre-coded chart is waiting. Two coders never get the same chart."""
        if not coder:
            raise ValueError("a coder name is required to claim a chart")
        now = utcnow()
        with self.store._write() as session:
            row = session.scalars(
                select(WorklistItem)
                .where(WorklistItem.state == "in_review", WorklistItem.reviewer == coder)
                .order_by(WorklistItem.opened_at, WorklistItem.id)
                .limit(1)
            ).first()
            if row is not None:
                return _chart(row)
            query = select(WorklistItem).where(
                WorklistItem.state == "precoded", or_(WorklistItem.assignee.is_(None), WorklistItem.assignee == coder)
            )
            if language:
                query = query.where(WorklistItem.language == language)
            row = session.scalars(
                query.order_by(case((WorklistItem.assignee == coder, 0), else_=1), WorklistItem.priority.desc(),
                               WorklistItem.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.state, row.reviewer, row.lease_owner, row.opened_at, row.updated_at = "in_review", coder, coder, now, now
            session.flush()
            return _chart(row)

    def release_review(self, item_id: int, coder: str | None = None) -> bool:
        """Give an open chart back to the queue (``coder``: only if it is theirs; None: a manager's release). The
        decisions already made stay with its run and are shown to the next coder."""
        with self.store._write() as session:
            row = session.get(WorklistItem, item_id)
            if row is None or row.state != "in_review" or (coder is not None and row.reviewer != coder):
                return False
            row.state, row.updated_at = "precoded", utcnow()
            row.reviewer = row.lease_owner = row.opened_at = None
            return True

    def mark_submitted(self, item_id: int, coder: str, submission_id: int) -> bool:
        """Close ``coder``'s chart with their submission; False if the chart is not open by them."""
        with self.store._write() as session:
            row = session.get(WorklistItem, item_id)
            if row is None or row.state != "in_review" or row.reviewer != coder:
                return False
            now = utcnow()
            row.state, row.submission_id, row.submitted_at, row.updated_at = "submitted", submission_id, now, now
            row.lease_owner = None
            return True

    def sync_submitted(self, item_id: int) -> bool:
        """Close an open chart its coder submitted with the workspace's own "Submit chart" button (a submission by
        the reviewer on the chart's run since it was opened); True when it was closed now."""
        chart = self.get(item_id)
        if chart.state != "in_review" or chart.run_id is None or not chart.reviewer:
            return False
        with self.store._read() as session:
            sub = session.execute(
                select(Submission.id, Submission.created_at)
                .where(Submission.run_id == chart.run_id, Submission.user == chart.reviewer,
                       Submission.created_at >= chart.opened_at)
                .order_by(Submission.id.desc())
                .limit(1)
            ).first()
        if sub is None:
            return False
        with self.store._write() as session:
            row = session.get(WorklistItem, item_id)
            if row is None or row.state != "in_review":
                return False
            row.state, row.submission_id, row.submitted_at, row.updated_at = "submitted", sub[0], sub[1], utcnow()
            row.lease_owner = None
            return True

    # ---- views

    def get(self, item_id: int) -> Chart:
        with self.store._read() as session:
            row = session.get(WorklistItem, item_id)
            if row is None:
                raise ValueError(f"worklist chart {item_id} does not exist")
            return _chart(row)

    def items(
        self,
        *,
        states: Iterable[str] | None = None,
        language: str | None = None,
        person: str | None = None,
        limit: int | None = None,
    ) -> list[Chart]:
        """Charts by priority then age; ``person`` matches the assignee or the reviewer."""
        query = select(WorklistItem)
        if states is not None:
            query = query.where(WorklistItem.state.in_(list(states)))
        if language:
            query = query.where(WorklistItem.language == language)
        if person:
            query = query.where(or_(WorklistItem.assignee == person, WorklistItem.reviewer == person))
        query = query.order_by(WorklistItem.priority.desc(), WorklistItem.id)
        if limit:
            query = query.limit(limit)
        with self.store._read() as session:
            return [_chart(row) for row in session.scalars(query)]

    def status(self) -> dict[str, Any]:
        """Counts per state, the runs stored for worklist charts, per-coder counts and the age of the queue."""
        now = utcnow()
        with self.store._read() as session:
            counts = dict.fromkeys(STATES, 0)
            for state, n in session.execute(select(WorklistItem.state, func.count()).group_by(WorklistItem.state)):
                counts[state] = int(n)
            runs = session.scalar(
                select(func.count(Run.id)).join(WorklistItem, WorklistItem.note_id == Run.note_id)
            )
            coders: dict[str, dict[str, int]] = {}
            for reviewer, state, n in session.execute(
                select(WorklistItem.reviewer, WorklistItem.state, func.count())
                .where(WorklistItem.reviewer.is_not(None))
                .group_by(WorklistItem.reviewer, WorklistItem.state)
            ):
                coders.setdefault(reviewer, {"assigned": 0, "in_review": 0, "submitted": 0})[state] = int(n)
            for assignee, n in session.execute(
                select(WorklistItem.assignee, func.count())
                .where(WorklistItem.assignee.is_not(None), WorklistItem.state.not_in(("in_review", "submitted")))
                .group_by(WorklistItem.assignee)
            ):
                coders.setdefault(assignee, {"assigned": 0, "in_review": 0, "submitted": 0})["assigned"] = int(n)
            waiting = list(session.scalars(select(WorklistItem.created_at).where(WorklistItem.state.in_(WAITING))))
        ages = [(now - created).total_seconds() for created in waiting]
        return {
            **counts,
            "total": sum(counts.values()),
            "runs": int(runs or 0),
            "coders": dict(sorted(coders.items())),
            "oldest_waiting_s": round(max(ages), 1) if ages else None,
            "median_waiting_s": round(statistics.median(ages), 1) if ages else None,
        }
