"""The refinement in a real browser: ``streamlit run`` with backend ollama against a local stand-in server that
answers each chat in 1.5 s. The steps appear while it runs with no click (the fragment polls the job every second),
the comparison appears when it ends (the fragment reruns the page), and adopting it shows the new run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM_ARGS, ROOT, _free_port, _wait_healthy
from test_browser import chromium_path as chromium_path  # noqa: F401 - the fixture (skips without Chromium)
from test_llm_ollama_protocol import SLOW_MODEL, _Handler, _StandIn

from core.store import DecisionStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "DISCHARGE SUMMARY\n\nAdmitted with congestive heart failure. History of hypertension.\n"
LOAD_TIMEOUT_MS = 600_000  # the first page of a fresh server loads the code sets
REFINE_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def ollama() -> Iterator[str]:
    server = _StandIn(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(chromium_path: Path, ollama: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state_dir = tmp_path_factory.mktemp("browser-refine")
    env = {**os.environ, "CODER_BACKEND": "ollama", "CODER_OLLAMA_HOST": ollama, "CODER_MODEL": SLOW_MODEL,
           "CODER_STRATEGY": "clh", "CODER_STATE_DIR": str(state_dir), "CODER_EMBEDDING_MODEL": "none",
           "CODER_CONFIG": str(state_dir / "no-config.toml"), "PYTHONUNBUFFERED": "1"}
    env.pop("CODER_DB_URL", None)
    port = _free_port()
    log = state_dir / "streamlit.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
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


def test_refine_in_the_browser_shows_steps_then_what_changed(app: tuple[str, Path], chromium_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, state_dir = app
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(url, wait_until="domcontentloaded")
            coder = page.get_by_label("Coder name", exact=True)
            coder.wait_for(timeout=LOAD_TIMEOUT_MS)
            coder.fill("Browser Coder")
            coder.press("Enter")
            note = page.get_by_label("Clinical note", exact=True)
            note.fill(NOTE)
            note.press("Control+Enter")
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Code this note").click()
            expect(page.locator(".cc-note mark.cc-unreviewed").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)

            page.get_by_role("button", name="Refine with the language model").click()
            expect(page.get_by_text("Refining with the language model", exact=False).first).to_be_visible(
                timeout=60_000)
            # Later steps appear with no click: the fragment redraws the job's progress every second.
            expect(page.get_by_text(re.compile("navigator — looking up")).first).to_be_visible(
                timeout=REFINE_TIMEOUT_MS)
            page.screenshot(path=str(ARTIFACTS / "refine_running.png"), full_page=True)
            expect(page.get_by_text("What the language model changed", exact=False)).to_be_visible(
                timeout=REFINE_TIMEOUT_MS)
            page.screenshot(path=str(ARTIFACTS / "refine_changed.png"), full_page=True)

            page.get_by_role("button", name="Adopt the refined result").click()
            expect(page.get_by_text("is the language model's refinement of run #1", exact=False)).to_be_visible(
                timeout=60_000)
        finally:
            browser.close()

    store = DecisionStore(f"sqlite:///{state_dir / 'decisions.sqlite'}")
    runs = sorted(store.runs_for_note(store.notes()[0]["id"]), key=lambda r: r["id"])
    assert [store.get_run(r["id"])["backend"] for r in runs] == ["none", "ollama"]
