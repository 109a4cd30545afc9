"""The worklist table: one row per chart queued for coding and review, with its state, lease and timestamps.

The chart's text is a row of ``notes`` (one per text, by hash), its pre-coded result a row of ``runs``, and the
coder's decisions and submission stay in ``decisions`` / ``submissions``: this table adds only what a queue needs
(state, who holds it until when, when it was queued, coded, opened and submitted). The queue logic that moves a
chart between states is :mod:`core.worklist.queue`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models import Base, UTCDateTime, utcnow

STATES = ("queued", "coding", "precoded", "in_review", "submitted", "failed")


class WorklistItem(Base):
    __tablename__ = "worklist"
    __table_args__ = (Index("ix_worklist_state_priority", "state", "priority", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), unique=True)  # a text is queued once
    external_id: Mapped[str] = mapped_column(String(255), default="")  # file stem, the id column, the case id
    source: Mapped[str] = mapped_column(String(512), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first
    assignee: Mapped[str | None] = mapped_column(String(255), nullable=True)  # only this coder may review it
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # The worker (pre-coding) or the coder (review) holding the chart; a worker's claim ends at lease_expires_at.
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # pre-coding claims so far
    error: Mapped[str] = mapped_column(Text, default="")  # why the last pre-coding failed
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    coded_by: Mapped[str] = mapped_column(String(255), default="")  # the worker that stored the run
    n_codes: Mapped[int] = mapped_column(Integer, default=0)
    n_candidates: Mapped[int] = mapped_column(Integer, default=0)
    reviewer: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # queued
    coded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
