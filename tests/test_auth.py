"""Accounts, sign-in, lockout, roles, the access log and the store migration, on SQLite and on a real PostgreSQL
server; the ``users`` commands and the CLI's checks on commands that change data."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from auth_helpers import STORE_KINDS, store_url
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError
from test_store import NOTE, make_result
from test_store_postgres import server  # noqa: F401 - the PostgreSQL fixture, started only for those params

from core.auth import (
    PERMISSIONS,
    ROLES,
    AuthError,
    Identity,
    add_user,
    allowed,
    change_password,
    locked_until,
    require,
    set_disabled,
    sign_in,
)
from core.auth.service import LOCKOUT, MAX_FAILURES
from core.cli import main as cli_main
from core.store import DecisionStore
from core.store import engine as store_module
from core.store.models import utcnow

ADMIN_PW = "admin-pass-1"
CODER_PW = "coder-pass-1"


@pytest.fixture(params=STORE_KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request, tmp_path)


@pytest.fixture
def db(url: str) -> DecisionStore:
    return DecisionStore(url)


def team(db: DecisionStore) -> Identity:
    """An admin (the first account) and a coder and an auditor added by it; returns the admin signed in."""
    add_user(db, None, "Boss", "admin", ADMIN_PW, page="test")
    admin = sign_in(db, "boss", ADMIN_PW, page="test")
    assert admin is not None and admin.role == "admin" and admin.verified
    add_user(db, admin, "ana", "coder", CODER_PW, email="Ana@Hospital.example", page="test")
    add_user(db, admin, "aud", "auditor", "auditor-pass-1", page="test")
    return admin


def test_store_keeps_no_plaintext_password(db: DecisionStore, url: str) -> None:
    team(db)
    raw = create_engine(url)
    with raw.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM users"))]
        log = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM access_log"))]
    raw.dispose()
    assert {r["name"] for r in rows} == {"boss", "ana", "aud"}
    assert all(r["password_hash"].startswith("$argon2id$") for r in rows)
    everything = json.dumps(rows + log, default=str)
    for password in (ADMIN_PW, CODER_PW, "auditor-pass-1"):
        assert password not in everything
    assert db.accounts.by_email("ana@hospital.example")["name"] == "ana"  # e-mails are kept in lower case


def test_failed_sign_in_says_nothing_about_the_account_and_locks(db: DecisionStore) -> None:
    admin = team(db)
    assert sign_in(db, "ana", "wrong-password", page="test") is None
    assert sign_in(db, "nobody", CODER_PW, page="test") is None
    assert sign_in(db, "", "", page="test") is None
    assert sign_in(db, "ANA ", CODER_PW, page="test").name == "ana"  # case and spaces do not matter
    for _ in range(MAX_FAILURES):
        assert sign_in(db, "ana", "wrong-password", page="test") is None
    now = utcnow()
    assert locked_until(db, "ana", now) is not None
    assert sign_in(db, "ana", CODER_PW, page="test") is None  # the right password is refused while locked
    later = now + LOCKOUT + timedelta(minutes=1)
    assert sign_in(db, "ana", CODER_PW, page="test", now=later) is not None  # the lock ends by itself
    for _ in range(MAX_FAILURES):  # a name that is no account is locked the same way
        sign_in(db, "ghost", "x", page="test")
    assert locked_until(db, "ghost") is not None
    for _ in range(MAX_FAILURES):
        sign_in(db, "ana", "wrong-password", page="test")
    change_password(db, admin, "ana", "brand-new-pass", page="test")  # an admin's reset clears the lockout
    assert locked_until(db, "ana") is None and sign_in(db, "ana", "brand-new-pass", page="test") is not None
    set_disabled(db, admin, "ana", True, page="test")
    assert sign_in(db, "ana", "brand-new-pass", page="test") is None
    failures = db.accounts.access_log(action="sign_in_failed")
    assert {r["user"] for r in failures} >= {"ana", "nobody", "ghost", "(empty)"}
    assert all(not r["verified"] for r in failures)


def test_roles_are_data_checked_by_one_function(db: DecisionStore) -> None:
    admin = team(db)
    assert set(ROLES) == {"coder", "auditor", "admin"}
    assert {a for a in ("code", "decide", "submit") if allowed("auditor", a)} == set()
    assert allowed("auditor", "export") and allowed("auditor", "audit") and not allowed("coder", "export")
    assert PERMISSIONS["admin"] >= PERMISSIONS["coder"] | PERMISSIONS["auditor"]
    auditor = sign_in(db, "aud", "auditor-pass-1", page="test")
    with pytest.raises(AuthError, match=r"aud \(auditor\) may not accept, reject.*needs role coder or admin"):
        require(auditor, "decide")
    coder = sign_in(db, "ana", CODER_PW, page="test")
    with pytest.raises(AuthError, match="needs role admin"):
        add_user(db, coder, "eve", "admin", "eve-pass-123", page="test")
    with pytest.raises(AuthError, match="last enabled admin"):
        set_disabled(db, admin, "boss", True, page="test")
    with pytest.raises(ValueError, match="at least 8"):
        add_user(db, admin, "short", "coder", "1234", page="test")
    with pytest.raises(ValueError, match="already exists"):
        add_user(db, admin, "ANA", "coder", "another-pass", page="test")
    with pytest.raises(AuthError, match="needs role admin"):
        change_password(db, coder, "boss", "taken-over-1", page="test")
    change_password(db, coder, "ana", "my-own-pass-1", page="test")  # an account may change its own
    assert [u["name"] for u in db.accounts.list()] == ["ana", "aud", "boss"]


def test_access_log_is_append_only_in_the_database(db: DecisionStore) -> None:
    team(db)
    row = db.accounts.log("ana", "open_run", verified=True, page="Code a note", target="run #1", note_id=1, run_id=1)
    for statement in ("UPDATE access_log SET target = 'run #2'", "DELETE FROM access_log"):
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert db.accounts.access_log(note_id=1)[0]["id"] == row
    assert [r["action"] for r in db.accounts.access_log()] == ["open_run", "add_user", "add_user", "sign_in", "add_user"]
    with pytest.raises(ValueError, match="action must be one of"):
        db.accounts.log("ana", "rewrite", verified=True)


def test_decisions_record_whether_the_user_was_signed_in(db: DecisionStore) -> None:
    note_id = db.add_note(NOTE, "paste", "es")
    run_id = db.save_run(note_id, make_result(), {}, user="ana")
    db.record_decision(run_id, "E11.9", "accept", user="ana", verified=True)
    db.record_decision(run_id, "I10", "accept", user="Typed Name")
    db.submit(run_id, [{"code": "E11.9"}], user="ana", verified=True)
    assert [(d["user"], d["verified"]) for d in db.decisions()] == [("ana", True), ("Typed Name", False)]
    assert db.submissions()[0]["verified"] is True
    assert "verified" in db.export_decisions("csv").splitlines()[0]
    assert [d["verified"] for d in db.code_audit(run_id, "I10")["decisions"]] == [False]


def test_a_store_from_before_sign_in_keeps_its_decisions_as_unverified(url: str) -> None:
    """A store written by the previous version (no users, no access log, decisions without ``verified``)."""
    store = DecisionStore(url)
    note_id = store.add_note(NOTE, "paste", "es")
    run_id = store.save_run(note_id, make_result(), {}, user="Ana Typed")
    with store.engine.begin() as conn:  # back to the old schema
        conn.execute(text("DROP TABLE access_log"))
        conn.execute(text("DROP TABLE users"))
        conn.execute(text("ALTER TABLE decisions DROP COLUMN verified"))
        conn.execute(text("ALTER TABLE submissions DROP COLUMN verified"))
        conn.execute(text("""INSERT INTO decisions (run_id, note_id, code, action, evidence, reason, "user", """
                          """created_at) VALUES (:r, :n, 'E11.9', 'accept', '[]', '', 'Ana Typed', :t)"""),
                     {"r": run_id, "n": note_id, "t": utcnow().replace(tzinfo=None)})
    store.engine.dispose()
    store_module._ENGINES.pop(url, None)

    reopened = DecisionStore(url)  # the migration runs on open
    [old] = reopened.decisions()
    assert (old["user"], old["verified"], old["code"]) == ("Ana Typed", False, "E11.9")
    reopened.record_decision(run_id, "I10", "accept", user="ana", verified=True)
    assert [d["verified"] for d in reopened.decisions()] == [False, True]
    assert reopened.accounts.count() == 0  # sign-in stays off until an account is added
    reopened.accounts.log("ana", "open_run", verified=True)
    with pytest.raises(DatabaseError, match="append-only"), reopened.engine.begin() as conn:
        conn.execute(text("DELETE FROM access_log"))


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CODER_DB_URL", url)
    monkeypatch.setenv("CODER_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("CODER_PASSWORD", raising=False)
    return url


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str],
            stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_commands(cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cli = lambda args, stdin="": run_cli(monkeypatch, capsys, args, stdin)  # noqa: E731
    assert "sign-in is off" in cli(["users", "list"])[1]
    code, _, err = cli(["users", "add", "ana", "--role", "coder", "--password-stdin"], "coder-pass-1\n")
    assert code == 2 and "first account must be an admin" in err
    code, out, _ = cli(["users", "add", "boss", "--role", "admin", "--password-stdin"], "admin-pass-1\n")
    assert code == 0 and "sign-in is now on" in out
    code, _, err = cli(["users", "add", "ana", "--role", "coder", "--password-stdin"], "coder-pass-1\n")
    assert code == 2 and "needs --user NAME" in err
    code, _, err = cli(["users", "add", "ana", "--role", "coder", "--user", "boss", "--password-stdin"],
                       "wrong-admin-pw\ncoder-pass-1\n")
    assert code == 2 and "Sign-in failed" in err
    code, out, _ = cli(["users", "add", "ana", "--role", "coder", "--user", "boss", "--password-stdin"],
                       "admin-pass-1\ncoder-pass-1\n")
    assert code == 0 and "added ana (coder)" in out
    monkeypatch.setenv("CODER_PASSWORD", "coder-pass-1")  # the acting user's password from the environment
    code, _, err = cli(["users", "disable", "boss", "--user", "ana"])
    assert code == 2 and "ana (coder) may not add, disable" in err
    code, out, _ = cli(["users", "passwd", "ana", "--password-stdin"], "ana-new-pass\n")
    assert code == 0 and "password changed for ana" in out
    monkeypatch.setenv("CODER_PASSWORD", "admin-pass-1")
    assert cli(["users", "disable", "ana", "--user", "boss"])[0] == 0
    rows = json.loads(cli(["users", "list", "--json"])[1])
    assert {(r["name"], r["role"], r["disabled"]) for r in rows} == {("boss", "admin", False), ("ana", "coder", True)}
    assert all("password_hash" not in r for r in rows)
    assert cli(["users", "enable", "ana", "--user", "boss"])[0] == 0
    store = DecisionStore(cli_env)
    actions = [(r["user"], r["action"], r["target"], r["page"]) for r in reversed(store.accounts.access_log())
               if r["action"] != "sign_in"]
    assert actions == [("boss", "add_user", "boss", "cli"), ("boss", "sign_in_failed", "", "cli"),
                       ("boss", "add_user", "ana", "cli"), ("ana", "change_password", "ana", "cli"),
                       ("boss", "disable_user", "ana", "cli"), ("boss", "enable_user", "ana", "cli")]


def test_train_needs_an_account_that_may_retrain(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = DecisionStore(cli_env)
    admin = team(store)
    assert admin.can("retrain")
    for args, stdin, message in (
        (["train", "--lang", "es", "--from-decisions"], "", "`train` needs --user NAME (role admin)"),
        (["train", "--lang", "es", "--restore-previous", "--user", "ana", "--password-stdin"], CODER_PW + "\n",
         "ana (coder) may not retrain"),
        (["train", "--lang", "es", "--user", "boss", "--password-stdin"], "not-the-password\n", "Sign-in failed"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, args, stdin)
        assert code == 2 and message in err, err


def test_session_idle_minutes_is_range_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import load_settings

    assert load_settings(tmp_path / "none.toml").session_idle_minutes == 30
    monkeypatch.setenv("CODER_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ValueError, match="session_idle_minutes must be between 1 and 1440"):
        load_settings(tmp_path / "none.toml")
