"""Accounts and the access log: the ``users`` and ``access_log`` tables and the methods that read and write them.

Passwords arrive here already hashed (``core.auth.passwords``); this module never sees a plaintext password. The
access log is append-only: there is no update or delete method, and on open the database itself is given
triggers that refuse an UPDATE or DELETE of its rows (:func:`install_guards`), so a hand-written SQL statement
cannot rewrite history either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Engine, Index, Integer, String, Text, func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.store.export import _check_fmt, _iso, _to_csv
from core.store.models import Base, UTCDateTime, utcnow
from core.store.values import _date_clauses

ROLE_CHOICES = ("coder", "auditor", "admin")  # core.auth.permissions holds what each may do


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # lower case (core.auth.normalise_username)
    role: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)  # lower case; for st.login
    password_hash: Mapped[str] = mapped_column(Text, default="")  # argon2id; "" for an account that signs in by OIDC only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccessEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_user_action", "user", "action", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user: Mapped[str] = mapped_column(String(255))  # the account; for a failed sign-in, the name typed
    verified: Mapped[bool] = mapped_column(Boolean, default=False)  # signed in (False: sign-in off, typed name)
    action: Mapped[str] = mapped_column(String(32))  # see ACCESS_ACTIONS
    page: Mapped[str] = mapped_column(String(64), default="")  # "Code a note", "Audit", "cli", ...
    target: Mapped[str] = mapped_column(String(255), default="")  # "run #4", "decisions.csv", an account name
    note_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


ACCESS_ACTIONS = (
    "open_run", "open_note", "export", "sign_in", "sign_in_failed", "sign_out", "session_expired",
    "add_user", "disable_user", "enable_user", "change_password", "retrain", "restore_model",
)  # fmt: skip
ACCESS_COLUMNS = ["id", "created_at", "user", "verified", "action", "page", "target", "note_id", "run_id", "detail"]

_GUARD_SQLITE = """
CREATE TRIGGER IF NOT EXISTS access_log_no_{op} BEFORE {OP} ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: rows are never updated or deleted'); END
"""
_GUARD_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the access log is append-only: rows are never updated or deleted'; END
$$ LANGUAGE plpgsql
"""
_GUARD_PG_TRIGGER = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'access_log_append_only') THEN
    CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
  END IF;
END $$
"""


def install_guards(engine: Engine) -> None:
    """Database triggers that refuse UPDATE and DELETE on the access log (idempotent; run on every open)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for op in ("update", "delete"):
                conn.exec_driver_sql(_GUARD_SQLITE.format(op=op, OP=op.upper()))
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(_GUARD_PG_FUNCTION)
            conn.exec_driver_sql(_GUARD_PG_TRIGGER)


def _user_dict(user: User, *, with_hash: bool = False) -> dict[str, Any]:
    out = {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "email": user.email or "",
        "disabled": bool(user.disabled),
        "created_at": _iso(user.created_at),
        "created_by": user.created_by,
        "password_changed_at": _iso(user.password_changed_at),
        "has_password": bool(user.password_hash),
    }
    if with_hash:
        out["password_hash"] = user.password_hash
    return out


def _access_dict(row: AccessEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": _iso(row.created_at),
        "user": row.user,
        "verified": bool(row.verified),
        "action": row.action,
        "page": row.page,
        "target": row.target,
        "note_id": row.note_id,
        "run_id": row.run_id,
        "detail": row.detail,
    }


def _clip(value: Any, length: int) -> str:
    return " ".join(str(value or "").split())[:length]


class Accounts:
    """Users and the access log of one decision store (``DecisionStore.accounts``)."""

    def __init__(self, read: Callable[[], AbstractContextManager[Session]],
                 write: Callable[[], AbstractContextManager[Session]]) -> None:
        self._read = read
        self._write = write

    # ---- users

    def count(self) -> int:
        """How many accounts exist (disabled ones included): sign-in is on as soon as there is one."""
        with self._read() as session:
            return int(session.scalar(select(func.count()).select_from(User)) or 0)

    def get(self, name: str, *, with_hash: bool = False) -> dict[str, Any] | None:
        with self._read() as session:
            user = session.scalar(select(User).where(User.name == name))
            return _user_dict(user, with_hash=with_hash) if user is not None else None

    def by_email(self, email: str) -> dict[str, Any] | None:
        with self._read() as session:
            user = session.scalar(select(User).where(User.email == email))
            return _user_dict(user) if user is not None else None

    def list(self) -> list[dict[str, Any]]:
        with self._read() as session:
            return [_user_dict(u) for u in session.scalars(select(User).order_by(User.name))]

    def add(self, name: str, role: str, password_hash: str, *, email: str | None = None, created_by: str = "") -> int:
        """A new account; ValueError when the name or e-mail is taken (nothing is written)."""
        if role not in ROLE_CHOICES:
            raise ValueError(f"role must be one of {ROLE_CHOICES}, got {role!r}")
        try:
            with self._write() as session:
                if session.scalar(select(User.id).where(User.name == name)) is not None:
                    raise ValueError(f"an account named {name!r} already exists")
                if email and session.scalar(select(User.id).where(User.email == email)) is not None:
                    raise ValueError(f"another account already has the e-mail {email!r}")
                now = utcnow()
                user = User(name=name, role=role, email=email or None, password_hash=password_hash, disabled=False,
                            created_at=now, created_by=created_by, password_changed_at=now)
                session.add(user)
                session.flush()
                return user.id
        except IntegrityError as exc:  # another process added the same name at the same moment
            raise ValueError(f"an account named {name!r} or with that e-mail already exists") from exc

    def _update(self, name: str, **values: Any) -> None:
        with self._write() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                raise ValueError(f"no account named {name!r}")
            for key, value in values.items():
                setattr(user, key, value)

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._update(name, disabled=disabled)

    def set_password(self, name: str, password_hash: str) -> None:
        """A new password hash; failed sign-ins before it no longer count towards a lockout."""
        self._update(name, password_hash=password_hash, password_changed_at=utcnow())

    def rehash(self, name: str, password_hash: str) -> None:
        """The same password under newer hashing parameters (not a password change)."""
        self._update(name, password_hash=password_hash)

    # ---- access log

    def log(self, user: str, action: str, *, verified: bool, page: str = "", target: str = "",
            note_id: int | None = None, run_id: int | None = None, detail: str = "") -> int:
        """Append one access-log row and return its id."""
        if action not in ACCESS_ACTIONS:
            raise ValueError(f"access-log action must be one of {ACCESS_ACTIONS}, got {action!r}")
        with self._write() as session:
            row = AccessEntry(created_at=utcnow(), user=_clip(user, 255) or "(none)", verified=bool(verified),
                              action=action, page=_clip(page, 64), target=_clip(target, 255), note_id=note_id,
                              run_id=run_id, detail=str(detail or "")[:2000])
            session.add(row)
            session.flush()
            return row.id

    def access_log(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        page: str | None = None,
        note_id: int | None = None,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Access-log rows, newest first (``limit``: the newest N)."""
        query = select(AccessEntry)
        if user:
            query = query.where(AccessEntry.user == user)
        if action:
            query = query.where(AccessEntry.action == action)
        if page:
            query = query.where(AccessEntry.page == page)
        if note_id is not None:
            query = query.where(AccessEntry.note_id == note_id)
        query = query.where(*_date_clauses(AccessEntry.created_at, date_from, date_to)).order_by(AccessEntry.id.desc())
        if limit:
            query = query.limit(limit)
        with self._read() as session:
            return [_access_dict(row) for row in session.scalars(query)]

    def access_users(self) -> list[str]:
        with self._read() as session:
            return sorted(session.scalars(select(AccessEntry.user).distinct()))

    def times(self, user: str, action: str, since: datetime, detail: str | None = None) -> list[datetime]:
        """When ``user`` did ``action`` from ``since`` on, oldest first (lockout bookkeeping)."""
        query = select(AccessEntry.created_at).where(AccessEntry.user == user, AccessEntry.action == action,
                                                    AccessEntry.created_at >= since)
        if detail is not None:
            query = query.where(AccessEntry.detail == detail)
        with self._read() as session:
            return list(session.scalars(query.order_by(AccessEntry.id)))

    def export_access_log(self, fmt: str = "csv", **filters: Any) -> str:
        rows = self.access_log(**filters)
        if _check_fmt(fmt) == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2)
        return _to_csv(rows, ACCESS_COLUMNS)


def iter_missing_columns(engine: Engine) -> Iterator[tuple[str, str, str]]:
    """(table, column, SQL type) for each column the models have and the database's tables lack."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in present:
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                yield table.name, column.name, column.type.compile(dialect=engine.dialect)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns a store written by an older version lacks, as nullable columns (old rows read NULL: for
    ``decisions.verified`` that is "unverified"). Returns "table.column" for each one added."""
    added = []
    preparer = engine.dialect.identifier_preparer
    for table, column, sql_type in list(iter_missing_columns(engine)):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column)} "
                                  f"{sql_type}"))
        except DatabaseError:
            if (table, column) in {(t, c) for t, c, _ in iter_missing_columns(engine)}:
                raise
            continue  # another process added it at the same moment
        added.append(f"{table}.{column}")
    return added
