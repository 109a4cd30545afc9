"""The browser tests' shared steps: Debian's Chromium and Playwright found (or the test skipped with the reason),
``streamlit run`` started on loopback with a state dir of its own, a page opened, a coder named, a note coded.

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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
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
    """Import it into a browser test module: it skips the module's tests without Chromium or Playwright."""
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


def app_env(state_dir: Path, **coder: str) -> dict[str, str]:
    """The server's environment: no language model, no embeddings, no config file and a state dir of its own, with
    no database URL, password or sign-in provider from the caller's shell; ``coder`` adds ``CODER_*`` variables
    (``backend="ollama"`` is ``CODER_BACKEND=ollama``)."""
    env = {
        **os.environ,
        "CODER_BACKEND": "none",
        "CODER_STATE_DIR": str(state_dir),
        "CODER_EMBEDDING_MODEL": "none",
        "CODER_CONFIG": str(state_dir / "no-config.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CODER_DB_URL", "CODER_PASSWORD", "CODER_OIDC_PROVIDER"):
        env.pop(name, None)
    env.update({f"CODER_{name.upper()}": value for name, value in coder.items()})
    return env


@contextmanager
def streamlit_app(env: dict[str, str], state_dir: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port (its log in ``state_dir``); yields its URL once healthy."""
    port = free_port()
    log = state_dir / "streamlit.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def browser_page(chromium_path: Path, width: int = 1600, height: int = 1100) -> Iterator[Any]:
    """A headless Chromium page (closed afterwards); the artifacts folder exists for its screenshots."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def name_coder(page: Any, url: str, name: str, timeout_ms: int = RESULT_TIMEOUT_MS) -> None:
    """Open ``url`` and give the coder's name (the sidebar asks once the code sets are loaded)."""
    page.goto(url, wait_until="domcontentloaded")
    coder = page.get_by_label("Coder name", exact=True)
    coder.wait_for(timeout=timeout_ms)
    coder.fill(name)
    coder.press("Enter")


def code_pasted_note(page: Any, note: str, timeout_ms: int = RESULT_TIMEOUT_MS) -> Any:
    """Paste ``note`` in the workspace and code it; returns the note's first highlighted, unreviewed code."""
    from playwright.sync_api import expect

    box = page.get_by_label("Clinical note", exact=True)
    box.fill(note)
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Code this note").click()
    first_mark = page.locator(".cc-note mark.cc-unreviewed").first
    expect(first_mark).to_be_visible(timeout=timeout_ms)
    return first_mark
