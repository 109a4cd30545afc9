"""One app process of the worklist load test: several coders' AppTest sessions of the Worklist page, each starting
the next chart, accepting the code under the cursor and pressing Submit and next. Prints one JSON line: the
seconds every action took, per action, and the charts each coder submitted.

AppTest runs one script at a time per process (it installs a process-wide runtime for each run), so the sessions of
one process take turns, as a Streamlit server's sessions share its interpreter; the load test starts several of
these processes at once on one store, so coders in different processes claim and write truly concurrently.

    python tests/worklist_load.py --coders ana ben cid --ready READY_FILE --go GO_FILE

The process opens its coders' pages (and loads the code sets, as a running server has them), writes READY_FILE,
and starts the actions once GO_FILE exists.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "1_Worklist.py")
ACTIONS = (("start", "wl_start_next"), ("accept", "key_accept"), ("submit", "wl_submit_next"))


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from core.kb.knowledge import get_knowledge
    from core.settings import load_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--coders", nargs="+", required=True)
    parser.add_argument("--ready", type=Path, required=True, help="written once every page is open")
    parser.add_argument("--go", type=Path, required=True, help="the actions start once this file exists")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"open": [], **{action: [] for action, _ in ACTIONS}}
    errors: list[str] = []
    sessions = []
    for coder in args.coders:
        at = AppTest.from_file(PAGE, default_timeout=300)
        at.session_state["coder_name"] = coder  # the sidebar's coder name (the page reads it from one place)
        started = time.perf_counter()
        at.run()
        times["open"].append(time.perf_counter() - started)
        sessions.append(at)
    get_knowledge(load_settings()).tabular  # noqa: B018  (loaded, as in a server that has run a while)
    args.ready.touch()
    deadline = time.monotonic() + 300
    while not args.go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    opened: dict[str, list[int]] = {coder: [] for coder in args.coders}
    for action, key in ACTIONS:
        for coder, at in zip(args.coders, sessions, strict=True):
            if not any(button.key == key for button in at.button):
                shown = [m.value for m in (*at.error, *at.info, *at.warning, *at.success)]
                errors.append(f"{coder} {action}: no {key} button; the page said {shown}")
                continue
            started = time.perf_counter()
            at.button(key=key).click().run()
            times[action].append(time.perf_counter() - started)
            if at.exception:
                errors.append(f"{coder} {action}: {at.exception}")
            if action == "start":
                opened[coder].append(at.session_state["worklist_chart"] if "worklist_chart" in at.session_state
                                     else None)
    print(json.dumps({"times": times, "opened": opened, "errors": errors}))


if __name__ == "__main__":
    main()
