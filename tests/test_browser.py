"""The real app in a real browser: Debian's Chromium driven by Playwright against ``streamlit run``.

Skipped (with the reason) when /usr/bin/chromium or Playwright is missing; ``make test`` installs Chromium.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import ARTIFACTS, ROOT, app_env, browser_page, code_pasted_note, name_coder, streamlit_app
from browser_helpers import chromium_path as chromium_path  # noqa: F401 - the fixture (skips without Chromium)

from core.store import DecisionStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = (
    "DISCHARGE SUMMARY\n\nPatient admitted with congestive heart failure. History of hypertension and type 2 "
    "diabetes mellitus. Chest X-ray: no pneumonia. <script>alert('not run')</script>\n"
)


@pytest.fixture(scope="module")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state_dir = tmp_path_factory.mktemp("browser-state")
    with streamlit_app(app_env(state_dir), state_dir) as url:
        yield url, state_dir


def test_paste_run_highlight_accept(server: tuple[str, Path], chromium_path: Path) -> None:
    from playwright.sync_api import expect

    url, state_dir = server
    with browser_page(chromium_path) as page:
        name_coder(page, url, "Browser Coder")
        code_pasted_note(page, NOTE)
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
    from playwright.sync_api import expect

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
    with browser_page(chromium_path) as page:
        name_coder(page, f"{url}/Worklist", "Keyboard Coder")
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

    decisions = [(d["code"], d["action"], d["user"]) for d in store.decisions(run_id=chart.run_id)]
    assert decisions == [(codes[0], "accept", "Keyboard Coder"), (codes[1], "reject", "Keyboard Coder")]
    closed = queue.get(chart_id)
    assert closed.state == "submitted" and closed.reviewer == "Keyboard Coder"
    [submission] = store.submissions(run_id=chart.run_id)
    assert codes[0] in [c["code"] for c in submission["codes"]] and codes[1] not in [c["code"] for c in
                                                                                    submission["codes"]]
