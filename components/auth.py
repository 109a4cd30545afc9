"""Sign-in for every page: :func:`require_sign_in` is the first call of ``app.py`` and of each page.

While no account exists (one coder on their own machine) nothing changes: the sidebar says sign-in is off and the
typed "Coder name" is recorded, unverified. Once an account exists, a browser session that is not signed in sees
only the sign-in form (and, where ``oidc_provider`` is set, a button for Streamlit's ``st.login``); no note, run,
decision or setting is drawn before it. The signed-in identity and the time of the last click live in
``st.session_state``; ``session_idle_minutes`` without a click ends the session. Signing out or an expired
session clears the whole browser session, so the next person at the screen starts from nothing.

Buttons ask :func:`blocked` (drawn disabled with the reason) and callbacks ask :func:`acting` again at the click
(the session may have expired, the account been disabled). Both read the role's permissions from
``core.auth.permissions``, as the CLI does. :func:`log_access` appends the access-log row for a note, run or
export that a page shows.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from core.auth import (
    ACTIONS,
    SIGN_IN_FAILED,
    Identity,
    local_identity,
    oidc_sign_in,
    page_action,
    refresh,
    sign_in,
    sign_in_on,
)
from core.settings import Settings, load_settings
from core.store import DecisionStore, StoreUnavailable

IDENTITY_KEY = "auth_identity"
ACTIVITY_KEY = "auth_last_activity"
NOTICE_KEY = "auth_notice"
ON_KEY = "auth_sign_in_on"
PAGE_KEY = "auth_page"
VIEWS_KEY = "auth_views"
OIDC_REFUSED_KEY = "auth_oidc_refused"
LOGOUT_KEY = "auth_oidc_logout"
CODER_NAME_KEY = "coder_name"  # components.sidebar.CODER_KEY: the typed name while sign-in is off
SIGN_IN_PAGE = "Sign in"
SIGN_IN_OFF = ("Sign-in is off: no account exists, so decisions carry the name typed below, unverified. "
               "`python -m core users add NAME --role admin` turns it on.")


# --------------------------------------------------------------------------- state


def _settings() -> Settings:
    return load_settings()


def auth_store(settings: Settings | None = None) -> DecisionStore:
    settings = settings or _settings()
    try:
        return DecisionStore(settings.database_url)
    except StoreUnavailable as exc:
        st.error(f"The decision store is unavailable: {exc}.", icon="🚫")
        st.stop()
        raise


def current_identity() -> Identity | None:
    """The signed-in account of this browser session (None with sign-in off, or before sign-in)."""
    return st.session_state.get(IDENTITY_KEY)


def _typed_name() -> str:
    return str(st.session_state.get(CODER_NAME_KEY) or "").strip()


def _end_session(notice: str | None, *, oidc: bool = False) -> None:
    """Forget everything this browser session held (identity, note, results, widget values)."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if oidc:
        st.session_state[LOGOUT_KEY] = True


def _expired(settings: Settings) -> bool:
    last = st.session_state.get(ACTIVITY_KEY)
    return last is not None and time.time() - float(last) > settings.session_idle_minutes * 60


def _live_identity(store: DecisionStore, settings: Settings, page: str) -> Identity | None:
    """The session's identity if it has not expired and the account is still enabled (else the session ends)."""
    identity = current_identity()
    if identity is None:
        return None
    if _expired(settings):
        store.accounts.log(identity.name, "session_expired", verified=True, page=page,
                           detail=f"{settings.session_idle_minutes} min without activity")
        _end_session(f"Your session ended after {settings.session_idle_minutes} minutes without activity: sign in "
                     "again.", oidc=identity.method == "oidc")
        return None
    fresh = refresh(store, identity)
    if fresh is None:
        _end_session("Your account was disabled: ask an administrator.", oidc=identity.method == "oidc")
        return None
    st.session_state[IDENTITY_KEY] = fresh
    return fresh


# --------------------------------------------------------------------------- permissions


def blocked(action: str) -> str:
    """Why the current user may not do ``action`` now ("" when they may): for disabled buttons and hints."""
    identity = current_identity()
    if identity is None:
        if st.session_state.get(ON_KEY):
            return "Sign in first."
        if action in ("decide", "submit") and not _typed_name():  # sign-in off: everything, once named
            return "Enter your name in the sidebar first: every decision records who made it."
        return ""
    if not identity.can(action):
        return f"Your role ({identity.role}) may not {ACTIONS[action]}."
    return ""


def may(action: str) -> bool:
    return not blocked(action)


def acting(action: str) -> tuple[Identity | None, str]:
    """Who does ``action`` at this click, or None and why not. For callbacks: they run before the page, so the
    store, the session's age and the account are checked again here."""
    settings = _settings()
    try:
        store = DecisionStore(settings.database_url)
        on = sign_in_on(store)
    except StoreUnavailable as exc:
        return None, f"The decision store is unavailable: {exc}."
    if not on:
        name = _typed_name()
        if not name:
            return None, "Enter your name in the sidebar first: every decision records who made it."
        return local_identity(name), ""
    identity = _live_identity(store, settings, str(st.session_state.get(PAGE_KEY) or ""))
    if identity is None:
        return None, "Your session has ended: sign in again. Nothing was recorded."
    st.session_state[ACTIVITY_KEY] = time.time()
    if not identity.can(action):
        return None, f"Your role ({identity.role}) may not {ACTIONS[action]}. Nothing was recorded."
    return identity, ""


def page_allowed(page: str) -> bool:
    """Whether the navigation lists ``page`` for the current user."""
    action = page_action(page)
    return action is None or may(action)


# --------------------------------------------------------------------------- the access log


def _actor() -> tuple[str, bool]:
    identity = current_identity()
    return (identity.name, True) if identity is not None else (_typed_name() or "(no name)", False)


def record(action: str, *, target: str = "", note_id: int | None = None, run_id: int | None = None,
           detail: str = "") -> None:
    """Append an access-log row now (an export, a retraining, an account change)."""
    name, verified = _actor()
    page = str(st.session_state.get(PAGE_KEY) or "")
    auth_store().accounts.log(name, action, verified=verified, page=page, target=target, note_id=note_id,
                          run_id=run_id, detail=detail)


def log_access(action: str, *, target: str, note_id: int | None = None, run_id: int | None = None) -> None:
    """Record that this page shows ``target`` (a run, a note): once per opening, not at every rerun while it stays
    on screen. Call it before drawing what it names: when the row cannot be written, the page stops there."""
    views: dict[str, str] = st.session_state.setdefault(VIEWS_KEY, {})
    if views.get(action) == target:
        return
    try:
        record(action, target=target, note_id=note_id, run_id=run_id)
    except StoreUnavailable as exc:
        st.error(f"Opening {target} could not be recorded in the access log ({exc}); it is not shown. Try again.")
        st.stop()
    views[action] = target


def export_callback(name: str, detail: str = "") -> dict[str, Any]:
    """``on_click`` / ``kwargs`` for a download button: the download is logged when it is clicked."""
    return {"on_click": record, "args": ("export",), "kwargs": {"target": name, "detail": detail}}


def _enter_page(page: str) -> None:
    if st.session_state.get(PAGE_KEY) != page:
        st.session_state[PAGE_KEY] = page
        st.session_state[VIEWS_KEY] = {}


# --------------------------------------------------------------------------- sign-in


def _on_sign_in() -> None:
    name = str(st.session_state.get("sign_in_username") or "")
    password = str(st.session_state.get("sign_in_password") or "")
    st.session_state["sign_in_password"] = ""
    try:
        identity = sign_in(auth_store(), name, password, page=SIGN_IN_PAGE)
    except StoreUnavailable as exc:
        st.session_state[NOTICE_KEY] = f"The decision store is unavailable: {exc}."
        return
    if identity is None:
        st.session_state[NOTICE_KEY] = SIGN_IN_FAILED
        return
    st.session_state.pop(NOTICE_KEY, None)
    st.session_state[IDENTITY_KEY] = identity
    st.session_state[ACTIVITY_KEY] = time.time()


def _on_sign_out() -> None:
    identity = current_identity()
    if identity is not None:
        try:
            auth_store().accounts.log(identity.name, "sign_out", verified=True,
                                  page=str(st.session_state.get(PAGE_KEY) or ""))
        finally:
            _end_session("Signed out.", oidc=identity.method == "oidc")


def _sign_in_form(settings: Settings) -> None:
    st.title("Sign in")
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        (st.success if notice == "Signed out." else st.error)(notice)
    with st.form("sign_in", border=True, width=420):
        st.text_input("Username", key="sign_in_username", autocomplete="username")
        st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", key="sign_in_submit", on_click=_on_sign_in)
    if settings.oidc_provider:
        provider = None if settings.oidc_provider == "default" else settings.oidc_provider
        if st.button("Sign in with your organisation's account", key="sign_in_oidc"):
            try:
                st.login(provider)
            except Exception as exc:  # noqa: BLE001 - Streamlit's auth errors: missing [auth] secrets or Authlib
                st.error(f"Sign-in through the identity provider is not set up here ({exc}). Use the username and "
                         "password, and ask an administrator to check .streamlit/secrets.toml (docs/access.md).")


def _oidc_identity(store: DecisionStore, settings: Settings, page: str) -> Identity | None:
    """The account mapped to the e-mail the identity provider confirmed, when st.login is in use."""
    if not settings.oidc_provider or not st.user.get("is_logged_in"):
        return None
    email = str(st.user.get("email") or "")
    if st.session_state.get(OIDC_REFUSED_KEY) == email:
        return None
    identity = oidc_sign_in(store, email, page=page)
    if identity is None:
        st.session_state[OIDC_REFUSED_KEY] = email
        who = email or "an account without an e-mail"
        st.session_state[NOTICE_KEY] = (f"The identity provider signed you in as {who}, but no enabled account here "
                                        "has that e-mail: ask an administrator (python -m core users add NAME "
                                        "--role ROLE --email E-MAIL).")
    return identity


def require_sign_in(page: str | None = None) -> Identity:
    """The user this page acts for, or the sign-in form and the end of the script.

    ``app.py`` calls it with no page, before the sidebar and the navigation (it draws who is signed in and the
    sign-out button); each page calls it first with its title, which also checks that the role may open it.
    With sign-in off it returns the typed name as an unverified identity with every permission.
    """
    if st.session_state.pop(LOGOUT_KEY, False) and st.user.get("is_logged_in"):
        st.logout()  # the identity provider's cookie, after sign-out or an expired session
    settings = _settings()
    store = auth_store(settings)
    on = sign_in_on(store)
    st.session_state[ON_KEY] = on
    if not on:
        identity = local_identity(_typed_name())
        if page is None:
            st.sidebar.caption(SIGN_IN_OFF)
    else:
        where = page or str(st.session_state.get(PAGE_KEY) or SIGN_IN_PAGE)
        found = _live_identity(store, settings, where) or _oidc_identity(store, settings, where)
        if found is None:
            if page is None:
                def sign_in_page() -> None:
                    _sign_in_form(settings)

                st.navigation([st.Page(sign_in_page, title=SIGN_IN_PAGE, icon="🔒")], position="hidden").run()
            else:
                _sign_in_form(settings)
            st.stop()
        identity = found
        st.session_state[IDENTITY_KEY] = identity
        st.session_state[ACTIVITY_KEY] = time.time()
        if page is None:
            with st.sidebar:
                st.markdown(f"Signed in as **{identity.name}** · {identity.role}")
                st.button("Sign out", key="sign_out", on_click=_on_sign_out)
    if page is not None:
        _enter_page(page)
        action = page_action(page)
        if action is not None and not identity.can(action):
            st.error(f"Your role ({identity.role}) cannot open the {page} page.", icon="🔒")
            st.stop()
    return identity
