"""The decision store's tables (SQLAlchemy ORM) and the column types they need."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TolerantJSON(TypeDecorator[Any]):
    """JSON that reads a damaged cell (a hand edit, a write cut short) as None instead of failing the whole query:
    one bad run must not stop a coder from listing or opening the others."""

    impl = JSON
    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        inner = super().result_processor(dialect, coltype)
        if inner is None:
            return None

        def process(value: Any) -> Any:
            try:
                return inner(value)
            except ValueError:  # json.JSONDecodeError
                log.warning("unreadable JSON in the decision store read as empty: %.60r", value)
                return None

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- tables


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(512), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    strategy: Mapped[str] = mapped_column(String(64), default="")
    backend: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(255), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(TolerantJSON, default=dict)
    prompt_versions: Mapped[dict[str, Any]] = mapped_column(TolerantJSON, default=dict)
    resource_versions: Mapped[dict[str, Any]] = mapped_column(TolerantJSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(TolerantJSON, default=dict)
    trace: Mapped[dict[str, Any]] = mapped_column(TolerantJSON, default=dict)
    user: Mapped[str] = mapped_column(String(255), default="")


class Suggestion(Base):
    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(255), default="")
    step: Mapped[str] = mapped_column(String(128), default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(TolerantJSON, default=list)


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_run_code", "run_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id"), nullable=True)
    code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    replacement_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(TolerantJSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[str] = mapped_column(String(255), index=True)
    # True: the user was signed in; False or NULL (rows from before sign-in existed): a typed, unverified name.
    verified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    user: Mapped[str] = mapped_column(String(255))
    verified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # as Decision.verified
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    codes: Mapped[list[dict[str, Any]]] = mapped_column(TolerantJSON, default=list)


class LearnedTerm(Base):
    __tablename__ = "learned_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    term: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    user: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
