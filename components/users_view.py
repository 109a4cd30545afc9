"""The Users page: accounts, their roles and status; add an account, disable or enable one, set a password.
Every change goes through ``core.auth`` (the same checks as ``python -m core users``) and into the access log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import auth_store
from core.auth import ROLES, AuthError, Identity, add_user, change_password, locked_until, set_disabled
from core.auth.permissions import ACTIONS, PERMISSIONS
from core.store import StoreUnavailable

PAGE = "Users"
FLASH_KEY = "users_flash"


def _flash(level: str, message: str) -> None:
    st.session_state[FLASH_KEY] = (level, message)


def _on_add(identity: Identity) -> None:
    state = st.session_state
    password, again = str(state.get("user_new_password") or ""), str(state.get("user_new_password_again") or "")
    state["user_new_password"] = state["user_new_password_again"] = ""
    if password != again:
        _flash("error", "The two passwords differ: nothing was changed.")
        return
    try:
        account = add_user(auth_store(), identity if identity.verified else None, str(state.get("user_new_name") or ""),
                           str(state.get("user_new_role") or ""), password or None,
                           email=str(state.get("user_new_email") or "") or None, page=PAGE)
    except (AuthError, ValueError, StoreUnavailable) as exc:
        _flash("error", f"Not added: {exc}")
        return
    state["user_new_name"] = state["user_new_email"] = ""
    note = "" if identity.verified else " Sign-in is now on: sign in with this account."
    _flash("success", f"Added {account['name']} ({account['role']}).{note}")


def _on_change(identity: Identity, change: str) -> None:
    name = str(st.session_state.get("user_pick") or "")
    try:
        if change == "password":
            password = str(st.session_state.get("user_set_password") or "")
            st.session_state["user_set_password"] = ""
            change_password(auth_store(), identity, name, password, page=PAGE)
            _flash("success", f"New password set for {name}; its lockout, if any, is cleared.")
        else:
            set_disabled(auth_store(), identity, name, change == "disable", page=PAGE)
            _flash("success", f"{name} {'disabled' if change == 'disable' else 'enabled'}.")
    except (AuthError, ValueError, StoreUnavailable) as exc:
        _flash("error", f"Not changed: {exc}")


def _roles_table() -> pd.DataFrame:
    return pd.DataFrame([{"role": role, "may": "; ".join(ACTIONS[a] for a in ACTIONS if a in PERMISSIONS[role])}
                         for role in ROLES])


def render_users(identity: Identity) -> None:
    st.title("Users")
    store = auth_store()
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        (st.success if flash[0] == "success" else st.error)(flash[1])
    users = store.accounts.list()
    if not users:
        st.info("No account exists, so sign-in is off. Add the first account, an admin, to turn it on: from then on "
                "the app asks everyone to sign in.")
    else:
        st.dataframe(pd.DataFrame([
            {"name": u["name"], "role": u["role"], "e-mail": u["email"],
             "status": "disabled" if u["disabled"] else "locked" if locked_until(store, u["name"]) else "active",
             "password": "set" if u["has_password"] else "identity provider only",
             "created (UTC)": (u["created_at"] or "")[:16].replace("T", " "), "by": u["created_by"]}
            for u in users
        ]), hide_index=True, width="stretch", key="users_table")
    with st.expander("What each role may do", expanded=False):
        st.dataframe(_roles_table(), hide_index=True, width="stretch")

    st.markdown("#### Add an account")
    with st.form("add_user", border=True):
        st.text_input("New username", key="user_new_name", help="Letters, digits, . _ - @; case does not matter.")
        st.selectbox("Role", ROLES if users else ("admin",), key="user_new_role")
        st.text_input("E-mail (optional)", key="user_new_email",
                      help="For sign-in through the hospital's identity provider (st.login), matched by e-mail.")
        st.text_input("New password", type="password", key="user_new_password", autocomplete="new-password",
                      help="At least 8 characters. Empty: the account signs in through the identity provider only.")
        st.text_input("New password again", type="password", key="user_new_password_again",
                      autocomplete="new-password")
        st.form_submit_button("Add user", type="primary", key="add_user_submit", on_click=_on_add, args=(identity,))
    if not users:
        return

    st.markdown("#### Change an account")
    st.selectbox("Account", [u["name"] for u in users], key="user_pick")
    picked = next((u for u in users if u["name"] == st.session_state.get("user_pick")), users[0])
    left, right = st.columns(2)
    with left:
        if picked["disabled"]:
            st.button("Enable", key="user_enable", on_click=_on_change, args=(identity, "enable"))
        else:
            st.button("Disable", key="user_disable", on_click=_on_change, args=(identity, "disable"))
    with right, st.form("set_password", border=False):
        st.text_input("Set a new password", type="password", key="user_set_password", autocomplete="new-password")
        st.form_submit_button("Set password", key="user_set_password_submit", on_click=_on_change,
                              args=(identity, "password"))
