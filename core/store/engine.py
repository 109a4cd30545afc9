"""One database engine per URL: SQLite in WAL mode with write locks taken up front, or a server database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from core.store.accounts import add_missing_columns, install_guards  # also registers its tables
from core.store.models import Base
from core.store.worklist import WorklistItem  # noqa: F401  (imported so create_all creates the worklist table)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------- engines

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _make_engine(url: str) -> Engine:
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    parsed = make_url(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each checkout sees an empty database
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock now (waiting up to busy_timeout) rather than failing at the first
        # INSERT when another writer got there first.
        immediate = conn.get_execution_options().get("coder_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class StoreUnavailable(RuntimeError):
    """The decision store cannot be opened or written now; the message names it and says what to do. Nothing
    already saved is touched."""


def store_exists(url: str) -> bool:
    """False for a SQLite file that does not exist yet: nothing was ever recorded there (and reading it must not
    create an empty file). A server database is taken to exist."""
    if not _is_sqlite(url):
        return True
    database = make_url(url).database or ""
    return not database or database.startswith(("file:", ":memory:")) or Path(database).is_file()


def store_location(url: str) -> str:
    """The store's file, or its URL without the password, for messages."""
    parsed = make_url(url)
    return parsed.database if _is_sqlite(url) and parsed.database else parsed.render_as_string(hide_password=True)


# Any fixed number: every process that opens a PostgreSQL store takes this advisory lock while it creates tables and
# triggers, since two workers starting at once otherwise race on CREATE OR REPLACE ("tuple concurrently updated").
_SCHEMA_LOCK_KEY = 0x436F646572


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_SCHEMA_LOCK_KEY})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_SCHEMA_LOCK_KEY})")
            conn.commit()


def _prepare_schema(engine: Engine, url: str) -> None:
    try:
        Base.metadata.create_all(engine)
    except OperationalError:  # another process created them at the same moment (SQLite)
        Base.metadata.create_all(engine)
    added = add_missing_columns(engine)  # a store written by an older version
    if added:
        log.info("decision store %s: added columns %s", store_location(url), ", ".join(added))
    install_guards(engine)


def get_engine(url: str) -> Engine:
    """One Engine per URL for the whole process, with the tables created on first use."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            try:
                engine = _make_engine(url)
            except OSError as exc:
                raise StoreUnavailable(f"the decision store's folder cannot be used ({exc}): set state_dir "
                                       "(CODER_STATE_DIR) to a writable folder") from exc
            try:
                with _schema_lock(engine):
                    _prepare_schema(engine, url)
            except DatabaseError as exc:
                engine.dispose()
                raise StoreUnavailable(f"the decision store {store_location(url)} cannot be opened ({exc.orig}): if it is "
                                       "busy, try again; if it is not a database, move it aside (nothing in it "
                                       "is changed) or set state_dir / db_url to another store") from exc
            _ENGINES[url] = engine
        return engine
