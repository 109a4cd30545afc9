"""Reviewing a chart from the keyboard: a cursor on one code at a time and buttons with Streamlit's own
``shortcut=`` (the key is drawn on each button).

    J / K  next / previous code     A  accept      X  reject      S  show in note      Ctrl+Enter  submit and next

Single-letter keys do nothing while the cursor is in a text box (Streamlit's rule), so typing a reason never
accepts a code. Accepting or rejecting moves the cursor on to the next code, so a chart can be reviewed with A,
X and Ctrl+Enter alone. The decision is written at once, like the buttons on the code cards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from components.auth import acting, may
from components.code_review import FOCUS_KEY, STATE_BADGES, ReviewContext, focus_options
from components.safe_text import md_escape
from components.sidebar import coder_name
from core.store import DecisionStore, StoreUnavailable
from core.store.review import added_codes

KEYS = {"previous": "K", "next": "J", "accept": "A", "reject": "X", "show": "S", "submit_next": "Ctrl+Enter",
        "start_next": "N"}
KEYS_FLASH = "review_keys_flash"


def cursor_key(run_id: int) -> str:
    return f"review_cursor_{run_id}"


def _flash(level: str, message: str) -> None:
    st.session_state[KEYS_FLASH] = (level, message)


def _move(key: str, count: int, step: int) -> None:
    st.session_state[key] = max(0, min(count - 1, int(st.session_state.get(key, 0)) + step))


def _show(code: str) -> None:
    st.session_state[FOCUS_KEY] = code


def _decide(url: str, run_id: int, code: str, action: str, state: str, key: str, count: int) -> None:
    """Accept or reject the code under the cursor, then move on to the next code."""
    actor, problem = acting("decide")
    if actor is None:
        _flash("error", problem)
        return
    done = {"accept": ("accepted", "added"), "reject": ("rejected",)}[action]
    if state in done:
        _flash("info", f"{code} was already {state}; moved on.")
    else:
        try:
            DecisionStore(url).record_decision(run_id, code, action, user=actor.name, verified=actor.verified)
        except (ValueError, StoreUnavailable) as exc:
            _flash("error", f"Not recorded: {md_escape(str(exc))}")
            return
        verb = {"accept": "Accepted", "reject": "Rejected" if state != "added" else "Removed"}[action]
        _flash("success", f"{verb} {code}.")
    _move(key, count, 1)


def _css_class(key: str) -> str:
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def _describe(ctx: ReviewContext, code: str) -> tuple[str, str, Any]:
    """(description, kind, suggestion or added row) of a code in the review order."""
    for kind, items in (("code", ctx.result.codes), ("candidate", ctx.result.candidates)):
        for item in items:
            if item.code == code:
                return item.description or ctx.kb.tabular.description(code), kind, item
    row = next((r for r in added_codes(ctx.current_state, ctx.result) if r["code"] == code), None)
    return ctx.kb.tabular.description(code), "added by the coder", row


def _evidence_and_rationale(item: Any) -> str:
    """"Evidence: “words”; “more words” · rationale" of a suggestion (or of a coder's added-code row)."""
    if isinstance(item, dict):
        texts, rationale = [span.get("text", "") for span in item.get("evidence") or []], item.get("reason", "")
    elif item is not None:
        texts, rationale = [span.text for span in item.evidence], item.rationale
    else:
        texts, rationale = [], ""
    words = "; ".join(f"“{md_escape(text)}”" for text in texts)
    return f"Evidence: {words or 'none'}" + (f" · {md_escape(rationale)}" if rationale else "")


def render_review_keys(ctx: ReviewContext, submit: Callable[[Any], None] | None = None) -> str | None:
    """The cursor panel above the workspace; ``submit(column)`` draws the chart's submit button in the row of
    keys. Returns the code under the cursor (None when the run has no code at all)."""
    codes = focus_options(ctx)
    key = cursor_key(ctx.run_id)
    index = min(int(st.session_state.get(key, 0)), max(len(codes) - 1, 0))
    st.session_state[key] = index
    can_decide = bool(coder_name()) and may("decide")
    with st.container(border=True, key="review_keys"):
        flash = st.session_state.pop(KEYS_FLASH, None)
        code = codes[index] if codes else None
        if code is None:
            st.markdown("**No code or candidate to review.** Add missed codes below, or submit the chart as it is.")
        else:
            description, kind, item = _describe(ctx, code)
            state = ctx.states.get(code, "unreviewed")
            st.markdown(f"**Code {index + 1} of {len(codes)}** · **{md_escape(code)}** {md_escape(description)} · "
                        f"{kind} {STATE_BADGES.get(state, '')}")
            st.caption(_evidence_and_rationale(item))
            st.html(f"<style>.{_css_class(f'card-{ctx.run_id}-{code}')},.{_css_class(f'added-{ctx.run_id}-{code}')}"
                    "{outline:3px solid #2563eb;outline-offset:3px}</style>")
        cols = st.columns([1, 1, 1, 1, 1, 1.6])
        cols[0].button("Previous code", key="key_previous", shortcut=KEYS["previous"], on_click=_move,
                       args=(key, len(codes), -1), disabled=index == 0, width="stretch")
        cols[1].button("Next code", key="key_next", shortcut=KEYS["next"], on_click=_move, args=(key, len(codes), 1),
                       disabled=index >= len(codes) - 1, width="stretch")
        help_text = None if can_decide else "Enter your name in the sidebar first."
        if code is not None:
            args = (ctx.store.url, ctx.run_id, code)
            cols[2].button("Accept", key="key_accept", shortcut=KEYS["accept"], on_click=_decide,
                           args=(*args, "accept", state, key, len(codes)), disabled=not can_decide, help=help_text,
                           type="primary", width="stretch")
            cols[3].button("Reject" if state != "added" else "Remove", key="key_reject", shortcut=KEYS["reject"],
                           on_click=_decide, args=(*args, "reject", state, key, len(codes)), disabled=not can_decide,
                           help=help_text, width="stretch")
            cols[4].button("Show in note", key="key_show", shortcut=KEYS["show"], on_click=_show, args=(code,),
                           width="stretch")
        if submit is not None:
            submit(cols[5])
        if flash:
            level, message = flash
            {"success": st.success, "error": st.error}.get(level, st.info)(message)
        st.caption("Keys: J / K next / previous code · A accept · X reject · S show in note · Ctrl+Enter submit and "
                   "next (⌘+Enter on a Mac). Letters do nothing while you type in a text box.")
    return code
