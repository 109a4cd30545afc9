"""The code list a coder reviews: codes, candidates, added codes, the final ordered list and "Submit chart".

Every button writes one decision to the store at once (append-only); what is shown is re-read from the store
on every rerun, so a second tab on the same run shows the same state. Coding the note again (after a browser
refresh, or "Run again") makes a new run that starts unreviewed; the page then names the earlier reviewed runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import streamlit as st

from components.auth import acting, blocked
from components.safe_text import md_escape
from core.kb.knowledge import KnowledgeBase
from core.rules.edit_checks import run_edit_checks
from core.schema import CodeSuggestion, CodingResult, EditMessage, Span
from core.store import DecisionStore, StoreUnavailable
from core.store.review import (
    STATE_LABELS,
    FinalCode,
    added_codes,
    context_of,
    final_code_list,
    find_span,
    move_code,
    review_states,
)

FLASH_KEY = "review_flash"
FOCUS_KEY = "focus_code"
SEARCH_LIMIT = 25
STATE_BADGES = {
    "unreviewed": ":blue-badge[Unreviewed]",
    "accepted": ":green-badge[Accepted]",
    "rejected": ":red-badge[Rejected]",
    "edited": ":orange-badge[Replaced]",
    "added": ":violet-badge[Added]",
}
MESSAGE_ICONS = {
    "error": ":red[:material/error:]",
    "warning": ":orange[:material/warning:]",
    "info": ":blue[:material/info:]",
}


@dataclass
class ReviewContext:
    store: DecisionStore
    kb: KnowledgeBase
    run_id: int
    note_text: str
    result: CodingResult
    current_state: dict[str, dict[str, Any]]

    @property
    def states(self) -> dict[str, str]:
        return review_states(self.current_state)

    @property
    def order_key(self) -> str:
        return f"code_order_{self.run_id}"


# --------------------------------------------------------------------------- callbacks (run before the page)


def _flash(level: str, message: str) -> None:
    st.session_state[FLASH_KEY] = (level, message)


def _record(url: str, run_id: int, code: str, action: str, **fields: Any) -> bool:
    """Write one decision and flash what happened; True when it was recorded."""
    actor, problem = acting("decide")
    if actor is None:
        _flash("error", problem)
        return False
    try:
        DecisionStore(url).record_decision(run_id, code, action, user=actor.name, verified=actor.verified, **fields)
    except (ValueError, StoreUnavailable) as exc:
        _flash("error", f"Not recorded: {md_escape(str(exc))}")
        return False
    verb = {"accept": "Accepted", "reject": "Rejected", "edit": "Replaced", "add": "Added"}[action]
    detail = f" with {fields['replacement_code']}" if fields.get("replacement_code") else ""
    _flash("success", f"{verb} {code}{detail}.")
    return True


def _accept(url: str, run_id: int, code: str) -> None:
    _record(url, run_id, code, "accept")


def _reject(url: str, run_id: int, code: str, reason_key: str) -> None:
    _record(url, run_id, code, "reject", reason=str(st.session_state.get(reason_key) or "").strip())


def _replace(url: str, run_id: int, code: str, choice_key: str, reason_key: str, evidence: list[dict]) -> None:
    replacement = st.session_state.get(choice_key)
    if not replacement:
        _flash("error", f"Search for the code that should replace {code} and pick it first.")
        return
    if replacement == code:
        _flash("error", f"{code} is already the suggested code: accept it instead.")
        return
    _record(
        url,
        run_id,
        code,
        "edit",
        replacement_code=replacement,
        evidence=evidence,
        reason=str(st.session_state.get(reason_key) or "").strip(),
    )


def _add(url: str, run_id: int, note_text: str, suggested: tuple[str, ...]) -> None:
    code = st.session_state.get("add_code_choice")
    snippet = str(st.session_state.get("add_evidence") or "")
    if not code:
        _flash("error", "Search for the missed code and pick it first.")
        return
    latest = DecisionStore(url).current_state(run_id).get(code)
    if latest and latest["action"] in ("add", "accept"):
        _flash("error", f"{code} is already in this chart ({'added' if latest['action'] == 'add' else 'accepted'}).")
        return
    spans = find_span(note_text, snippet) if snippet.strip() else []
    if snippet.strip() and not spans:
        _flash("error", f"“{snippet.strip()}” is not in the note: copy the words exactly as they appear.")
        return
    occurrence = int(st.session_state.get("add_occurrence") or 0)
    evidence = [spans[min(occurrence, len(spans) - 1)]] if spans else []
    reason = str(st.session_state.get("add_reason") or "").strip()
    if code in suggested:  # the pipeline listed it: accepting it keeps its card, evidence and rationale
        if _record(url, run_id, code, "accept", evidence=evidence, reason=reason):
            _flash("success", f"{code} was already suggested: accepted it.")
    else:
        _record(url, run_id, code, "add", evidence=evidence, reason=reason)
    st.session_state["add_evidence"] = ""
    st.session_state["add_reason"] = ""


def _focus(code: str | None) -> None:
    st.session_state[FOCUS_KEY] = code


def _move(order_key: str, order: list[str], code: str, step: int) -> None:
    st.session_state[order_key] = move_code(order, code, step)


def _submit(url: str, run_id: int, result: CodingResult, describe: Callable[[str], str], order: list[str] | None,
            shown: list[dict[str, Any]]) -> None:
    """Submit the final list as the store has it now, only if it is the list the coder saw: another coder or tab
    may have decided on this run since the page was drawn."""
    actor, problem = acting("submit")
    if actor is None:
        _flash("error", problem)
        return
    store = DecisionStore(url)
    items = [item.as_submission_item() for item in final_code_list(result, store.current_state(run_id), describe,
                                                                    order)]
    if items != shown:
        changed = sorted({i["code"] for i in items} ^ {i["code"] for i in shown}) or ["order or evidence"]
        _flash("error", "Not submitted: the chart changed since this page was drawn (another coder or tab decided "
                        f"on {', '.join(changed)}). Check the final code set below and submit again.")
        return
    try:
        submission_id = store.submit(run_id, items, actor.name, verified=actor.verified)
    except (ValueError, StoreUnavailable) as exc:
        _flash("error", f"Not submitted: {md_escape(str(exc))}")
        return
    _flash("success", f"Chart submitted (submission #{submission_id}, {len(items)} codes) by {md_escape(actor.name)}.")


# --------------------------------------------------------------------------- rendering


def _code_options(kb: KnowledgeBase, query: str, language: str) -> dict[str, str]:
    """Search results as code → label (non-billable codes say so); words are also looked up as terms of the
    note's language."""
    if not query.strip():
        return {}
    return {
        item.code: f"{item.code} — {item.description}" + ("" if item.billable else " (not billable)")
        for item in kb.search_codes(query, limit=SEARCH_LIMIT, language=language)
    }


def _code_search(kb: KnowledgeBase, label: str, query_key: str, choice_key: str, language: str) -> None:
    query = st.text_input(label, key=query_key, placeholder="code (I50.9) or words (heart failure)")
    options = _code_options(kb, query, language)
    if query.strip() and not options:
        st.caption("No code matches.")
    if options:
        st.selectbox("Matching codes", list(options), key=choice_key, format_func=options.get)
    else:
        st.session_state.pop(choice_key, None)


def _evidence_line(spans: list[Span] | list[dict[str, Any]]) -> str:
    texts = []
    for span in spans:
        text, start, end = (
            (span.text, span.start, span.end)
            if isinstance(span, Span)
            else (span.get("text", ""), span.get("start"), span.get("end"))
        )
        texts.append(f"“{md_escape(text)}” ({start}–{end})")
    return "; ".join(texts) if texts else "no evidence span"


def _decision_line(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    when = datetime.fromisoformat(row["created_at"]).strftime("%Y-%m-%d %H:%M UTC") if row.get("created_at") else ""
    extra = f" → {row['replacement_code']}" if row.get("replacement_code") else ""
    reason = f" — “{md_escape(row['reason'])}”" if row.get("reason") else ""
    label = STATE_LABELS.get(review_states({"x": row})["x"], row["action"])
    return f"{label}{extra} by {md_escape(row['user'])} {when}{reason}"


def _messages(messages: list[EditMessage]) -> None:
    for message in messages:
        related = f" (see {', '.join(message.related[:6])})" if message.related else ""
        st.caption(f"{MESSAGE_ICONS.get(message.level, '•')} {md_escape(message.message)}{related}")


def _code_card(ctx: ReviewContext, item: CodeSuggestion, messages: list[EditMessage], can_decide: bool) -> None:
    url, run_id, code = ctx.store.url, ctx.run_id, item.code
    state = ctx.states.get(code, "unreviewed")
    with st.container(border=True, key=f"card-{run_id}-{code}"):
        st.markdown(f"**{md_escape(code)}** {md_escape(item.description)} {STATE_BADGES.get(state, '')}")
        st.caption(
            f"score {item.score:.2f} · {item.source or 'pipeline'}" + (f" · step {item.step}" if item.step else "")
        )
        st.markdown(f"Evidence: {_evidence_line(item.evidence)}")
        if item.rationale:
            st.caption(f"Rationale: {md_escape(item.rationale)}")
        _messages(messages)
        decided = _decision_line(ctx.current_state.get(code))
        if decided:
            st.caption(decided)
        help_text = None if can_decide else blocked("decide")
        reason_key = f"reason-{run_id}-{code}"
        accept_col, reject_col, focus_col = st.columns(3)
        accept_col.button(
            "Accept",
            key=f"accept-{run_id}-{code}",
            on_click=_accept,
            args=(url, run_id, code),
            disabled=not can_decide or state == "accepted",
            help=help_text,
            type="primary" if state == "unreviewed" and item.status == "code" else "secondary",
            width="stretch",
        )
        reject_col.button(
            "Reject",
            key=f"reject-{run_id}-{code}",
            on_click=_reject,
            args=(url, run_id, code, reason_key),
            disabled=not can_decide or state == "rejected",
            help=help_text,
            width="stretch",
        )
        focus_col.button("Show in note", key=f"focus-{run_id}-{code}", on_click=_focus, args=(code,), width="stretch")
        with st.expander("Reason · replace with another code", expanded=False, key=f"more-{run_id}-{code}"):
            st.text_input("Reason (optional, kept with a reject or a replacement)", key=reason_key)
            choice_key = f"replace-choice-{run_id}-{code}"
            _code_search(ctx.kb, "Search the replacement code", f"replace-q-{run_id}-{code}", choice_key,
                         ctx.result.language)
            st.button(
                "Replace with the selected code",
                key=f"replace-{run_id}-{code}",
                on_click=_replace,
                args=(url, run_id, code, choice_key, reason_key, [s.model_dump() for s in item.evidence]),
                disabled=not can_decide,
                help=help_text,
            )


def _added_card(ctx: ReviewContext, row: dict[str, Any], can_decide: bool) -> None:
    code = row["code"]
    with st.container(border=True, key=f"added-{ctx.run_id}-{code}"):
        st.markdown(f"**{md_escape(code)}** {md_escape(ctx.kb.tabular.description(code))} {STATE_BADGES['added']}")
        st.markdown(f"Evidence: {_evidence_line(row.get('evidence') or [])}")
        st.caption(_decision_line(row))
        st.text_input("Reason (optional, kept with a removal)", key=f"reason-{ctx.run_id}-{code}")
        left, right = st.columns(2)
        left.button(
            "Remove",
            key=f"remove-{ctx.run_id}-{code}",
            on_click=_reject,
            args=(ctx.store.url, ctx.run_id, code, f"reason-{ctx.run_id}-{code}"),
            disabled=not can_decide,
            width="stretch",
        )
        right.button("Show in note", key=f"focus-{ctx.run_id}-{code}", on_click=_focus, args=(code,), width="stretch")


def _add_missed_code(ctx: ReviewContext, can_decide: bool) -> None:
    with st.expander("➕ Add a missed code", expanded=False, key="add_missed_code"):
        _code_search(ctx.kb, "Search the code to add", "add_code_query", "add_code_choice", ctx.result.language)
        snippet = st.text_input(
            "Evidence: the words in the note that support it",
            key="add_evidence",
            help="Copy the words from the note; their position is found for you.",
        )
        spans = find_span(ctx.note_text, snippet) if snippet.strip() else []
        if snippet.strip() and not spans:
            st.warning("These words are not in the note: copy them exactly as they appear.")
        if len(spans) > 1:
            labels = {i: context_of(ctx.note_text, span) for i, span in enumerate(spans)}
            st.selectbox("Which occurrence", list(labels), key="add_occurrence", format_func=labels.get)
        elif spans:
            st.caption(md_escape(context_of(ctx.note_text, spans[0])))
        st.text_input("Reason (optional)", key="add_reason")
        st.button(
            "Add code",
            key="add_code",
            on_click=_add,
            args=(ctx.store.url, ctx.run_id, ctx.note_text,
                  tuple(item.code for item in [*ctx.result.codes, *ctx.result.candidates])),
            disabled=not can_decide,
            help=None if can_decide else blocked("decide"),
        )


def _final_list(ctx: ReviewContext, can_decide: bool) -> None:
    st.markdown("#### Final code set")
    order = st.session_state.get(ctx.order_key)
    final: list[FinalCode] = final_code_list(ctx.result, ctx.current_state, ctx.kb.tabular.description, order)
    codes_in_order = [item.code for item in final]
    if not final:
        st.caption("No codes: accept candidates or add codes, or submit an empty chart if nothing is codable.")
    for position, item in enumerate(final, start=1):
        label_col, up_col, down_col = st.columns([8, 1, 1], vertical_alignment="center")
        marker = "" if item.reviewed else " · _not reviewed_"
        replaced = f" (replaces {item.replaces})" if item.replaces else ""
        label_col.markdown(f"{position}. **{md_escape(item.code)}** {md_escape(item.description)} · {item.origin}"
                           f"{replaced}{marker}")
        up_col.button(
            "↑",
            key=f"up-{ctx.run_id}-{item.code}",
            on_click=_move,
            args=(ctx.order_key, codes_in_order, item.code, -1),
            disabled=position == 1,
        )
        down_col.button(
            "↓",
            key=f"down-{ctx.run_id}-{item.code}",
            on_click=_move,
            args=(ctx.order_key, codes_in_order, item.code, 1),
            disabled=position == len(final),
        )
    checks = run_edit_checks(
        [CodeSuggestion(code=item.code, description=item.description) for item in final], ctx.kb.tabular
    )
    _messages(checks)
    unreviewed = [item.code for item in final if not item.reviewed]
    if unreviewed:
        st.warning(
            f"{len(unreviewed)} suggested code(s) not reviewed yet: {', '.join(unreviewed)}. "
            "They are submitted as suggested unless you reject them."
        )
    st.button(
        "Submit chart",
        key="submit_chart",
        type="primary",
        on_click=_submit,
        args=(ctx.store.url, ctx.run_id, ctx.result, ctx.kb.tabular.description, order,
              [item.as_submission_item() for item in final]),
        disabled=not can_decide or bool(blocked("submit")),
        help=None if can_decide else blocked("submit"),
    )
    submissions = ctx.store.submissions(run_id=ctx.run_id)
    if submissions:
        last = submissions[-1]
        codes = ", ".join(c["code"] for c in last["codes"]) or "no codes"
        st.caption(
            f"Last submitted by {md_escape(last['user'])} at {last['created_at'][:16]} UTC: {codes} "
            f"({len(submissions)} submission(s) for this run)"
        )


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        level, message = flash
        (st.success if level == "success" else st.error)(message)


def render_review(ctx: ReviewContext) -> None:
    """Codes, candidates, the add form, added codes and the final list with "Submit chart".

    Messages that come and go sit inside containers that are always drawn, so the elements below keep their
    place between reruns and an open expander (e.g. the add form) stays open while the coder types.
    """
    can_decide = not blocked("decide")
    with st.container(key="review_messages"):
        if not can_decide:
            st.info(blocked("decide"), icon="👤")
        show_flash()
        _messages([m for m in ctx.result.messages if not m.code])
    by_code: dict[str, list[EditMessage]] = {}
    for message in ctx.result.messages:
        if message.code:
            by_code.setdefault(message.code, []).append(message)

    with st.container(key="review_codes"):
        st.markdown(f"#### Codes ({len(ctx.result.codes)})")
        if not ctx.result.codes:
            st.caption("No code reached the confidence threshold; see the candidates below.")
        for item in ctx.result.codes:
            _code_card(ctx, item, by_code.get(item.code, []), can_decide)
    with st.container(key="review_candidates"):
        st.markdown(f"#### Candidates for review ({len(ctx.result.candidates)})")
        if not ctx.result.candidates:
            st.caption("No candidates.")
        for item in ctx.result.candidates:
            _code_card(ctx, item, by_code.get(item.code, []), can_decide)
    _add_missed_code(ctx, can_decide)
    with st.container(key="review_added"):
        extra = added_codes(ctx.current_state, ctx.result)
        if extra:
            st.markdown(f"#### Added by the coder ({len(extra)})")
            for row in extra:
                _added_card(ctx, row, can_decide)
    with st.container(key="review_final"):
        _final_list(ctx, can_decide)


def focus_options(ctx: ReviewContext) -> list[str]:
    codes = [item.code for item in [*ctx.result.codes, *ctx.result.candidates]]
    codes += [row["code"] for row in added_codes(ctx.current_state, ctx.result)]
    return list(dict.fromkeys(codes))
