"""The real app in a real browser: Debian's Chromium driven by Playwright against ``streamlit run``.

Skipped (with the reason) when /usr/bin/chromium or Playwright is missing; ``make test`` installs Chromium.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import DecisionStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 120
# The first coding run in a fresh server process loads the code sets and the dictionary.
RESULT_TIMEOUT_MS = 600_000
NOTE = (
    "DISCHARGE SUMMARY\n\nPatient admitted with congestive heart failure. History of hypertension and type 2 "
    "diabetes mellitus. Chest X-ray: no pneumonia. <script>alert('not run')</script>\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit did not become healthy in {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install it with `apt-get install -y chromium` (make test tries this)"
        print(reason)
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        reason = f"playwright is not installed in this environment: {exc}"
        print(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state_dir = tmp_path_factory.mktemp("browser-state")
    port = _free_port()
    env = {
        **os.environ,
        "CODER_BACKEND": "none",
        "CODER_STATE_DIR": str(state_dir),
        "CODER_EMBEDDING_MODEL": "none",
        "CODER_CONFIG": str(state_dir / "no-config.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CODER_DB_URL", None)
    log = state_dir / "streamlit.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url, state_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_paste_run_highlight_accept(server: tuple[str, Path], chromium_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, state_dir = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(url, wait_until="domcontentloaded")
            coder = page.get_by_label("Coder name", exact=True)
            coder.wait_for(timeout=RESULT_TIMEOUT_MS)  # the sidebar appears once the code sets are loaded
            coder.fill("Browser Coder")
            coder.press("Enter")
            note = page.get_by_label("Clinical note", exact=True)
            note.fill(NOTE)
            note.press("Control+Enter")
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Code this note").click()

            first_mark = page.locator(".cc-note mark.cc-unreviewed").first
            expect(first_mark).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            note_box = page.locator(".cc-note").first
            expect(note_box).to_contain_text("<script>alert('not run')</script>")  # shown as text, not run
            assert page.locator(".cc-note script").count() == 0
            page.screenshot(path=str(ARTIFACTS / "app_results.png"), full_page=True)

            page.get_by_role("button", name="Accept").first.click()
            expect(page.locator(".cc-note mark.cc-accepted").first).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Accepted", exact=False).first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "app_after_accept.png"), full_page=True)

            page.get_by_role("link", name="Audit").click()
            expect(page.get_by_role("heading", name="Audit")).to_be_visible(timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
        finally:
            browser.close()

    store = DecisionStore(f"sqlite:///{state_dir / 'decisions.sqlite'}")
    decisions = store.decisions()
    assert [(d["action"], d["user"]) for d in decisions] == [("accept", "Browser Coder")]


KEYBOARD_NOTE = (
    "DISCHARGE SUMMARY\n\nAdmitted with congestive heart failure. Known hypertension and type 2 diabetes mellitus. "
    "Chest X-ray: no pneumonia.\n"
)


def test_review_a_precoded_chart_from_the_keyboard(server: tuple[str, Path], chromium_path: Path) -> None:
    """A chart pre-coded by a worker, reviewed on the Worklist page with the keys alone: N starts it, A accepts,
    J moves on, X rejects, S shows the code in the note, Ctrl+Enter submits it and opens the next one."""
    from playwright.sync_api import expect, sync_playwright

    from core.settings import load_settings
    from core.worklist.queue import NewChart, WorklistQueue
    from core.worklist.worker import run_worker

    url, state_dir = server
    settings = load_settings(state_dir / "no-config.toml", data_dir=ROOT.parent / "shared" / "data",
                             embedding_model="none", backend="none", strategy="deterministic",
                             db_url=f"sqlite:///{state_dir / 'decisions.sqlite'}")
    store = DecisionStore(settings.database_url)
    queue = WorklistQueue(store)
    [chart_id] = queue.enqueue_many([NewChart(text=KEYBOARD_NOTE, source="browser", language="en",
                                              external_id="keyboard-1")])
    assert run_worker(settings, until_empty=True, store=store).coded == 1
    chart = queue.get(chart_id)
    run = store.get_run(chart.run_id)
    codes = [s["code"] for s in run["suggestions"]]
    assert chart.state == "precoded" and len(codes) >= 2, codes
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(f"{url}/Worklist", wait_until="domcontentloaded")
            coder = page.get_by_label("Coder name", exact=True)
            coder.wait_for(timeout=RESULT_TIMEOUT_MS)
            coder.fill("Keyboard Coder")
            coder.press("Enter")
            expect(page.get_by_role("button", name="Start next chart")).to_be_enabled(timeout=60_000)
            page.evaluate("document.activeElement.blur()")  # out of the text box: letters are shortcuts again

            page.keyboard.press("n")
            cursor = page.locator(".st-key-review_keys")
            expect(cursor).to_contain_text(f"Code 1 of {len(codes)}", timeout=60_000)
            expect(cursor).to_contain_text(codes[0])
            page.screenshot(path=str(ARTIFACTS / "worklist_keyboard.png"), full_page=True)
            page.keyboard.press("a")  # accept the first code; the cursor moves to the second
            expect(cursor).to_contain_text(f"Code 2 of {len(codes)}", timeout=60_000)
            expect(cursor).to_contain_text(f"Accepted {codes[0]}")
            page.keyboard.press("k")
            expect(cursor).to_contain_text(f"Code 1 of {len(codes)}", timeout=60_000)
            page.keyboard.press("j")
            expect(cursor).to_contain_text(f"Code 2 of {len(codes)}", timeout=60_000)
            page.keyboard.press("s")  # the second code's evidence outlined in the note
            expect(page.locator(f'.cc-note mark.cc-focus[data-codes*="{codes[1]}"]').first).to_be_visible(
                timeout=60_000)
            page.keyboard.press("x")  # reject it
            expect(cursor).to_contain_text(f"Rejected {codes[1]}", timeout=60_000)
            page.keyboard.press("Control+Enter")
            expect(page.get_by_text(f"Chart #{chart_id} submitted")).to_be_visible(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "worklist_submitted.png"), full_page=True)
        finally:
            browser.close()

    decisions = [(d["code"], d["action"], d["user"]) for d in store.decisions(run_id=chart.run_id)]
    assert decisions == [(codes[0], "accept", "Keyboard Coder"), (codes[1], "reject", "Keyboard Coder")]
    closed = queue.get(chart_id)
    assert closed.state == "submitted" and closed.reviewer == "Keyboard Coder"
    [submission] = store.submissions(run_id=chart.run_id)
    assert codes[0] in [c["code"] for c in submission["codes"]] and codes[1] not in [c["code"] for c in
                                                                                    submission["codes"]]
