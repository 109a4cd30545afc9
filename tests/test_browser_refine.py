"""The refinement in a real browser: ``streamlit run`` with backend ollama against a local stand-in server that
answers each chat in 1.5 s. The steps appear while it runs with no click (the fragment polls the job every second),
the comparison appears when it ends (the fragment reruns the page), and adopting it shows the new run."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, app_env, browser_page, code_pasted_note, name_coder, streamlit_app
from browser_helpers import chromium_path as chromium_path  # noqa: F401 - the fixture (skips without Chromium)
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
    env = app_env(state_dir, backend="ollama", ollama_host=ollama, model=SLOW_MODEL, strategy="clh")
    with streamlit_app(env, state_dir) as url:
        yield url, state_dir


def test_refine_in_the_browser_shows_steps_then_what_changed(app: tuple[str, Path], chromium_path: Path) -> None:
    from playwright.sync_api import expect

    url, state_dir = app
    with browser_page(chromium_path) as page:
        name_coder(page, url, "Browser Coder", LOAD_TIMEOUT_MS)
        code_pasted_note(page, NOTE, LOAD_TIMEOUT_MS)
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

    store = DecisionStore(f"sqlite:///{state_dir / 'decisions.sqlite'}")
    runs = sorted(store.runs_for_note(store.notes()[0]["id"]), key=lambda r: r["id"])
    assert [store.get_run(r["id"])["backend"] for r in runs] == ["none", "ollama"]
