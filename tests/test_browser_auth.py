"""Sign-in in a real browser: Debian's Chromium driven by Playwright against ``streamlit run`` on loopback, after
``python -m core users add`` created the accounts (as an operator would). Skipped with the reason where Chromium
or Playwright is missing, like ``test_browser.py``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    RESULT_TIMEOUT_MS,
    ROOT,
    app_env,
    browser_page,
    chromium_path,  # noqa: F401 - the fixture that skips without Chromium
    streamlit_app,
)

from core.store import DecisionStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ADMIN_PW, CODER_PW = "admin-pass-1", "coder-pass-1"


def _cli(env: dict[str, str], *args: str, stdin: str) -> None:
    done = subprocess.run([sys.executable, "-m", "core", "users", *args], input=stdin, env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # noqa: F811
    state_dir = tmp_path_factory.mktemp("browser-auth-state")
    env = app_env(state_dir)
    _cli(env, "add", "boss", "--role", "admin", "--password-stdin", stdin=ADMIN_PW + "\n")
    _cli(env, "add", "ana", "--role", "coder", "--user", "boss", "--password-stdin", stdin=f"{ADMIN_PW}\n{CODER_PW}\n")
    with streamlit_app(env, state_dir) as url:
        yield url, state_dir


def test_sign_in_form_refuses_a_wrong_password_then_opens_the_workspace(server: tuple[str, Path],
                                                                         chromium_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    url, state_dir = server
    with browser_page(chromium_path, 1400, 900) as page:
        page.goto(url, wait_until="domcontentloaded")
        username = page.get_by_label("Username", exact=True)
        password = page.get_by_label("Password", exact=True)
        expect(username).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.get_by_label("Clinical note", exact=True).count() == 0
        assert page.get_by_label("Coder name", exact=True).count() == 0
        page.screenshot(path=str(ARTIFACTS / "sign_in.png"), full_page=True)

        username.fill("ana")
        password.fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Sign-in failed", exact=False)).to_be_visible(timeout=60_000)
        assert page.get_by_label("Clinical note", exact=True).count() == 0
        page.screenshot(path=str(ARTIFACTS / "sign_in_refused.png"), full_page=True)

        page.get_by_label("Username", exact=True).fill("ana")
        page.get_by_label("Password", exact=True).fill(CODER_PW)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_label("Clinical note", exact=True)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(page.get_by_text("Signed in as", exact=False)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        assert page.get_by_label("Coder name", exact=True).count() == 0
        page.screenshot(path=str(ARTIFACTS / "signed_in.png"), full_page=True)

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Username", exact=True)).to_be_visible(timeout=60_000)
        assert page.get_by_label("Clinical note", exact=True).count() == 0

    store = DecisionStore(f"sqlite:///{state_dir / 'decisions.sqlite'}")
    actions = [(r["user"], r["action"], r["page"]) for r in reversed(store.accounts.access_log()) if r["page"] != "cli"]
    assert actions[:2] == [("ana", "sign_in_failed", "Sign in"), ("ana", "sign_in", "Sign in")]
    assert actions[-1][:2] == ("ana", "sign_out")
