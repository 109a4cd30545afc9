"""Accounts, sign-in and roles: password hashing (``passwords``), what each role may do (``permissions``), and
sign-in, lockout and account changes shared by the app and the CLI (``service``). No Streamlit here."""

from core.auth.passwords import check_new_password, hash_password
from core.auth.permissions import ACTIONS, LOCAL, PERMISSIONS, ROLES, allowed, page_action, roles_allowed
from core.auth.service import (
    SIGN_IN_FAILED,
    AuthError,
    Identity,
    add_user,
    change_password,
    cli_identity,
    local_identity,
    locked_until,
    normalise_username,
    oidc_sign_in,
    refresh,
    require,
    set_disabled,
    sign_in,
    sign_in_on,
)

__all__ = [
    "ACTIONS", "LOCAL", "PERMISSIONS", "ROLES", "SIGN_IN_FAILED", "AuthError", "Identity", "add_user", "allowed",
    "change_password", "check_new_password", "cli_identity", "hash_password", "local_identity", "locked_until",
    "normalise_username", "oidc_sign_in", "page_action", "refresh", "require", "roles_allowed", "set_disabled",
    "sign_in", "sign_in_on",
]  # fmt: skip
