"""Sign-in, roles and the access log in the real app, driven headless with AppTest (on SQLite, and the main flow on
a real PostgreSQL server too)."""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import STORE_KINDS, store_url
from streamlit.testing.v1 import AppTest
from test_store_postgres import server  # noqa: F401 - the PostgreSQL fixture, started only for those params

from components.auth import ACTIVITY_KEY
from core.auth import SIGN_IN_FAILED, Identity, add_user, set_disabled, sign_in
from core.schema import CodeSuggestion, CodingResult, Span, StepTrace
from core.store import DecisionStore

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT_S = 600
ADMIN_PW, CODER_PW, AUDITOR_PW = "admin-pass-1", "coder-pass-1", "auditor-pass-1"


@pytest.fixture(params=STORE_KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request, tmp_path)


@pytest.fixture
def app_env(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CODER_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CODER_DB_URL", url)
    monkeypatch.setenv("CODER_EMBEDDING_MODEL", "none")
    monkeypatch.setenv("CODER_BACKEND", "none")
    monkeypatch.setenv("CODER_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("CODER_LANGUAGE", "CODER_STRATEGY", "CODER_MODEL", "CODER_CODER_NAME", "CODER_OIDC_PROVIDER",
                 "CODER_SESSION_IDLE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    return url


def team(url: str) -> DecisionStore:
    store = DecisionStore(url)
    add_user(store, None, "boss", "admin", ADMIN_PW, page="test")
    admin = sign_in(store, "boss", ADMIN_PW, page="test")
    add_user(store, admin, "ana", "coder", CODER_PW, email="ana@hospital.example", page="test")
    add_user(store, admin, "aud", "auditor", AUDITOR_PW, page="test")
    return store


def start_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    return at


def submit_sign_in(at: AppTest, name: str, password: str) -> None:
    at.text_input(key="sign_in_username").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="sign_in_submit").click().run()
    assert not at.exception, at.exception


def signed_in(name: str, password: str) -> AppTest:
    at = start_app()
    submit_sign_in(at, name, password)
    assert [t.value for t in at.title] != ["Sign in"], [e.value for e in at.error]
    return at


def assert_sign_in_form_only(at: AppTest) -> None:
    """Only the form: no note input, no sidebar (settings, resources), no run, no decision."""
    assert [t.value for t in at.title] == ["Sign in"]
    assert [w.label for w in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.text_area) == 0 and len(at.selectbox) == 0 and len(at.sidebar) == 0 and len(at.dataframe) == 0


def accept_keys(at: AppTest) -> dict[str, str]:
    return {b.key.split("-", 2)[2]: b.key for b in at.button if b.key and b.key.startswith("accept-")}


def seeded_run(store: DecisionStore) -> int:
    note = "Admitted with hypertension. No pneumonia."
    note_id = store.add_note(note, "test", "en")
    result = CodingResult(
        note_sha256="x", language="en", strategy="deterministic", backend="none",
        codes=[CodeSuggestion(code="I10", description="Essential (primary) hypertension", rationale="matched index",
                              evidence=[Span(start=14, end=26, text="hypertension")], step="dictionary")],
        trace=[StepTrace(step="dictionary", prompt_template="none", prompt_version="1", output_codes=["I10"])],
    )  # fmt: skip
    run_id = store.save_run(note_id, result, {"backend": "none", "language": "en"}, user="ana")
    store.record_decision(run_id, "I10", "reject", user="Old Typed Name")  # from before sign-in: unverified
    return run_id


def test_sign_in_then_code_decide_and_submit(app_env: str) -> None:
    store = team(app_env)
    at = start_app()
    assert_sign_in_form_only(at)
    submit_sign_in(at, "ana", "wrong-password")
    assert [e.value for e in at.error] == [SIGN_IN_FAILED]
    assert_sign_in_form_only(at)
    submit_sign_in(at, "nobody", CODER_PW)  # an unknown name gets the very same answer
    assert [e.value for e in at.error] == [SIGN_IN_FAILED]
    assert at.text_input(key="sign_in_password").value == ""  # a typed password is not kept in the form

    submit_sign_in(at, "ana", CODER_PW)
    assert [t.value for t in at.title] == ["Code a note"] and at.text_area(key="note_text").label == "Clinical note"
    assert "Signed in as **ana** · coder" in [m.value for m in at.sidebar.markdown]
    assert "Coder name" not in [w.label for w in at.sidebar.text_input]  # the free-text name is gone
    assert "Strategy" not in [s.label for s in at.sidebar.selectbox]  # pipeline settings are an admin's
    at.selectbox(key="sample_choice").select("en_01_heart_failure").run()
    at.button(key="load_sample").click().run()
    at.button(key="run_coding").click().run()
    accept = accept_keys(at)
    first = next(iter(accept))
    run_id = int(accept[first].split("-")[1])
    at.button(key=accept[first]).click().run()
    at.button(key="submit_chart").click().run()
    assert any("Chart submitted" in s.value and "by ana" in s.value for s in at.success)

    assert [(d["user"], d["verified"], d["code"]) for d in store.decisions()] == [("ana", True, first)]
    assert [(s["user"], s["verified"]) for s in store.submissions()] == [("ana", True)]
    log = [(r["user"], r["verified"], r["action"], r["page"], r["run_id"]) for r in reversed(store.accounts.access_log())
           if r["page"] != "test"]
    note_id = store.decisions()[0]["note_id"]
    assert log == [("ana", False, "sign_in_failed", "Sign in", None), ("nobody", False, "sign_in_failed", "Sign in", None),
                   ("ana", True, "sign_in", "Sign in", None), ("ana", True, "open_run", "Code a note", run_id)]
    assert store.accounts.access_log(action="open_run")[0]["note_id"] == note_id  # which patient's note

    at.button(key="sign_out").click().run()
    assert_sign_in_form_only(at)
    assert any(s.value == "Signed out." for s in at.success)
    assert "note_text" not in at.session_state and "active_run" not in at.session_state
    assert store.accounts.access_log(limit=1)[0]["action"] == "sign_out"


def test_auditor_reads_and_exports_but_cannot_accept_or_submit(app_env: str) -> None:
    store = team(app_env)
    run_id = seeded_run(store)
    at = signed_in("aud", AUDITOR_PW)
    # The navigation lists the pages the role may open (AppTest keeps them in a private registry).
    # The worklist is listed read-only: its Start next and Submit and next buttons need a coder.
    assert [p["page_name"] for p in at._registered_pages.values()] == ["Code a note", "Worklist", "Code browser",
                                                                        "Audit", "Evaluation"]
    assert at.button(key="run_coding").disabled  # an auditor codes nothing
    at.button(key="open_run").click().run()  # "Earlier runs": reopen the run to read it
    assert not at.exception, at.exception
    accept = accept_keys(at)
    assert list(accept) == ["I10"] and at.button(key=accept["I10"]).disabled
    assert at.button(key="submit_chart").disabled
    assert any("Your role (auditor) may not accept" in i.value for i in at.info)
    assert [d["action"] for d in store.decisions()] == ["reject"] and store.submissions() == []

    at.switch_page("pages/3_Audit.py").run()
    assert not at.exception, at.exception
    decisions = at.dataframe[0].value
    assert decisions["coder"].tolist() == ["Old Typed Name"]
    assert decisions["signed in"].tolist() == ["no (typed name, unverified)"]
    assert "Retrain from coder decisions" not in [m.value for m in at.markdown]  # an admin's
    at.download_button(key="dl_decisions_csv").click().run()
    at.download_button(key="dl_access_csv").click().run()
    log = store.accounts.access_log(user="aud")
    assert [(r["action"], r["page"], r["target"]) for r in reversed(log)] == [
        ("sign_in", "Sign in", ""), ("open_run", "Code a note", f"run #{run_id}"),
        ("open_run", "Audit", f"run #{run_id}"), ("export", "Audit", "decisions.csv"),
        ("export", "Audit", "access_log.csv"),
    ]
    access_table = next(df.value for df in at.dataframe if "who" in df.value.columns)
    assert "open_run" in access_table["what"].tolist()
    at.switch_page("pages/5_Users.py").run()  # a page the role may not open stops at its first line
    assert [e.value for e in at.error] == ["Your role (auditor) cannot open the Users page."]
    assert len(at.text_input) == 0 and len(at.dataframe) == 0


def test_the_first_admin_and_then_a_coder_are_added_on_the_users_page(app_env: str) -> None:
    store = DecisionStore(app_env)
    at = start_app()  # no account yet: sign-in is off, the coder on this machine may add the first admin
    assert any(c.value.startswith("Sign-in is off") for c in at.sidebar.caption)
    at.switch_page("pages/5_Users.py").run()
    at.text_input(key="user_new_name").input("Boss")
    at.text_input(key="user_new_password").input(ADMIN_PW)
    at.text_input(key="user_new_password_again").input(ADMIN_PW)
    at.button(key="add_user_submit").click().run()
    assert [u["name"] for u in store.accounts.list()] == ["boss"]

    at = signed_in("boss", ADMIN_PW)
    assert "Strategy" in [s.label for s in at.sidebar.selectbox]  # an admin chooses the pipeline settings
    at.switch_page("pages/5_Users.py").run()
    assert not at.exception, at.exception
    at.text_input(key="user_new_name").input("ben")
    at.selectbox(key="user_new_role").select("coder")
    at.text_input(key="user_new_password").input("short")
    at.text_input(key="user_new_password_again").input("short")
    at.button(key="add_user_submit").click().run()
    assert any("at least 8 characters" in e.value for e in at.error) and store.accounts.get("ben") is None
    at.text_input(key="user_new_name").input("ben")
    at.selectbox(key="user_new_role").select("coder")
    at.text_input(key="user_new_password").input("ben-pass-123")
    at.text_input(key="user_new_password_again").input("ben-pass-123")
    at.button(key="add_user_submit").click().run()
    assert any("Added ben (coder)" in s.value for s in at.success)
    assert store.accounts.get("ben")["role"] == "coder"
    added = store.accounts.access_log(action="add_user")
    assert [(r["user"], r["verified"], r["target"], r["page"]) for r in added] == [
        ("boss", True, "ben", "Users"), ("boss", False, "boss", "Users")]
    at.selectbox(key="user_pick").select("ben").run()
    at.button(key="user_disable").click().run()
    assert store.accounts.get("ben")["disabled"]
    assert sign_in(store, "ben", "ben-pass-123", page="test") is None


def test_an_idle_session_ends_and_a_disabled_account_is_signed_out(app_env: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODER_SESSION_IDLE_MINUTES", "1")
    store = team(app_env)
    seeded_run(store)
    at = signed_in("ana", CODER_PW)
    at.button(key="open_run").click().run()
    accept = accept_keys(at)
    at.session_state[ACTIVITY_KEY] = time.time() - 61
    at.button(key=accept["I10"]).click().run()  # the click after the idle time records nothing
    assert_sign_in_form_only(at)
    assert any("ended after 1 minutes without activity" in e.value for e in at.error)
    assert [d["user"] for d in store.decisions()] == ["Old Typed Name"]
    assert store.accounts.access_log(user="ana", limit=1)[0]["action"] == "session_expired"

    submit_sign_in(at, "ana", CODER_PW)
    at.button(key="open_run").click().run()
    set_disabled(store, Identity("boss", "admin", True), "ana", True, page="test")
    at.button(key=accept_keys(at)["I10"]).click().run()  # drawn enabled; the account is checked again at the click
    assert_sign_in_form_only(at)
    assert any("account was disabled" in e.value for e in at.error)
    assert [d["user"] for d in store.decisions()] == ["Old Typed Name"]


def test_identity_provider_sign_in_maps_the_e_mail_to_an_account(app_env: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """st.login itself needs the provider; what happens after it (st.user) is seeded the way AppTest allows."""
    monkeypatch.setenv("CODER_OIDC_PROVIDER", "default")
    store = team(app_env)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    assert "Sign in with your organisation's account" in [b.label for b in at.button]
    at.user = {"is_logged_in": True, "email": "Ana@Hospital.example", "name": "Ana"}
    at.run()
    assert not at.exception, at.exception
    assert "Signed in as **ana** · coder" in [m.value for m in at.sidebar.markdown]
    assert store.accounts.access_log(user="ana", limit=1)[0]["detail"] == "oidc"

    other = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    other.user = {"is_logged_in": True, "email": "stranger@elsewhere.example"}
    other.run()
    assert [t.value for t in other.title] == ["Sign in"]
    assert any("no enabled account here has that e-mail" in e.value for e in other.error)
    other.run()  # refused once per session, not logged again at every rerun
    assert len(store.accounts.access_log(user="stranger@elsewhere.example")) == 1
    other.button(key="sign_in_oidc").click().run()  # no [auth] secrets on this machine: said, not a traceback
    assert not other.exception, other.exception
    assert any("identity provider is not set up here" in e.value for e in other.error)


def test_every_page_asks_for_sign_in_first() -> None:
    """No page can forget it: each file in pages/ and the main page call require_sign_in before anything else."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        body = [n for n in ast.parse(path.read_text()).body
                if not isinstance(n, ast.Import | ast.ImportFrom | ast.Expr) or isinstance(n, ast.Expr)
                and not isinstance(n.value, ast.Constant)]
        assert "require_sign_in(page=" in ast.unparse(body[0]), f"{path.name} does not start with require_sign_in"
    main_page = next(n for n in ast.parse(Path(APP).read_text()).body
                     if isinstance(n, ast.FunctionDef) and n.name == "code_a_note")
    assert "require_sign_in(page='Code a note')" in ast.unparse(main_page.body[0])
