"""Stores for the sign-in tests: a SQLite file, or a real PostgreSQL server on loopback (the ``server`` fixture of
``test_store_postgres``, skipped with its reason where the server binaries are missing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.store import DecisionStore
from core.store import engine as store_module

STORE_KINDS = ["sqlite", "postgresql"]


def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store's URL for ``request.param`` (yielded; the PostgreSQL schema is emptied after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'decisions.sqlite'}"
        return
    url = request.getfixturevalue("server")
    yield url
    store = DecisionStore(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.engine.dispose()
    store_module._ENGINES.pop(url, None)
