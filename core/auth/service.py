"""Sign-in, lockout, accounts and the checks the app and the CLI share (no Streamlit here).

A failed sign-in says the same thing, and takes about the same time, whether the name is unknown, the password
wrong, the account locked or disabled (:data:`SIGN_IN_FAILED`). Every attempt is a row of the access log; the
lockout is read from those rows: :data:`MAX_FAILURES` failures within :data:`FAILURE_WINDOW` lock the name for
:data:`LOCKOUT` (attempts while locked are logged and do not extend it; a successful sign-in or a new password
clears the count). Names that are not accounts are locked the same way, so the lockout tells nothing either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.auth.passwords import check_new_password, hash_password, needs_rehash, verify
from core.auth.permissions import ACTIONS, LOCAL, ROLES, allowed, roles_allowed
from core.store import DecisionStore
from core.store.models import utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SIGN_IN_FAILED = ("Sign-in failed: the username or password is wrong, or the account is locked or disabled. "
                  "Check them and try again, or ask an administrator.")
_USERNAME = re.compile(r"^[\w.@-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AuthError(Exception):
    """A refused command or action; the message says what is needed. Nothing was changed."""


@dataclass(frozen=True)
class Identity:
    """Who is acting: an account (``verified``) or, with sign-in off, the name typed in the sidebar."""

    name: str
    role: str
    verified: bool
    method: str = "password"  # "password", "oidc", "local" (sign-in off), "cli"

    def can(self, action: str) -> bool:
        return allowed(self.role, action)


def local_identity(name: str) -> Identity:
    """The coder on their own machine while no account exists: every action, the name as typed (unverified)."""
    return Identity(name=" ".join(name.split()), role=LOCAL, verified=False, method="local")


def normalise_username(name: str) -> str:
    """An account name: 1-64 letters, digits, ``. _ - @``; case does not matter (stored in lower case)."""
    clean = str(name or "").strip().casefold()
    if not _USERNAME.match(clean):
        raise ValueError("a username has 1 to 64 letters, digits or . _ - @ (no spaces)")
    return clean


def normalise_email(email: str | None) -> str | None:
    clean = str(email or "").strip().casefold()
    if not clean:
        return None
    if not _EMAIL.match(clean) or len(clean) > 255:
        raise ValueError(f"{email!r} is not an e-mail address")
    return clean


def sign_in_on(store: DecisionStore) -> bool:
    """Sign-in is required as soon as one account exists."""
    return store.accounts.count() > 0


# --------------------------------------------------------------------------- sign-in and lockout


def locked_until(store: DecisionStore, name: str, now: datetime | None = None) -> datetime | None:
    """When the lockout of ``name`` ends, or None when it is not locked."""
    now = now or utcnow()
    since = now - FAILURE_WINDOW - LOCKOUT
    account = store.accounts.get(name)
    if account and account["password_changed_at"]:
        since = max(since, datetime.fromisoformat(account["password_changed_at"]))
    successes = store.accounts.times(name, "sign_in", since)
    if successes:
        since = max(since, successes[-1])
    until: datetime | None = None
    streak: list[datetime] = []
    for failed in store.accounts.times(name, "sign_in_failed", since, detail=""):
        if until is not None and failed < until:
            continue
        streak = [t for t in streak if failed - t <= FAILURE_WINDOW] + [failed]
        if len(streak) >= MAX_FAILURES:
            until, streak = failed + LOCKOUT, []
    return until if until is not None and until > now else None


def sign_in(store: DecisionStore, name: str, password: str, *, page: str, now: datetime | None = None,
            method: str = "password") -> Identity | None:
    """The account's identity when the name, password and account state allow it, else None (and the failure is
    logged). Always one password verification, whatever the outcome."""
    try:
        key = normalise_username(name)
    except ValueError:
        key = " ".join(str(name or "").split())[:64].casefold() or "(empty)"
    account = store.accounts.get(key, with_hash=True) if _USERNAME.match(key) else None
    matches = verify(account["password_hash"] if account else None, password)
    locked = locked_until(store, key, now) is not None
    if matches and account is not None and not account["disabled"] and not locked:
        if needs_rehash(account["password_hash"]):
            store.accounts.rehash(key, hash_password(password))
        store.accounts.log(key, "sign_in", verified=True, page=page, detail=method)
        return Identity(name=key, role=account["role"], verified=True, method=method)
    store.accounts.log(key, "sign_in_failed", verified=False, page=page, detail="locked" if locked else "")
    return None


def oidc_sign_in(store: DecisionStore, email: str, *, page: str) -> Identity | None:
    """The account whose e-mail the identity provider confirmed (``st.user.email``), or None when there is no
    such enabled account (logged as a failed sign-in under the e-mail)."""
    try:
        clean = normalise_email(email)
    except ValueError:
        clean = None
    account = store.accounts.by_email(clean) if clean else None
    if account is None or account["disabled"]:
        store.accounts.log(clean or "(no e-mail)", "sign_in_failed", verified=False, page=page, detail="oidc")
        return None
    store.accounts.log(account["name"], "sign_in", verified=True, page=page, detail="oidc")
    return Identity(name=account["name"], role=account["role"], verified=True, method="oidc")


def refresh(store: DecisionStore, identity: Identity) -> Identity | None:
    """The identity as the store has it now: None once the account is disabled or gone; its current role."""
    if not identity.verified:
        return identity
    account = store.accounts.get(identity.name)
    if account is None or account["disabled"]:
        return None
    return identity if account["role"] == identity.role else Identity(identity.name, account["role"], True,
                                                                        identity.method)


def require(identity: Identity | None, action: str) -> Identity:
    """``identity`` when its role allows ``action``, else AuthError naming the roles that may."""
    if identity is None:
        raise AuthError(f"sign in first: {ACTIONS[action]} needs role {' or '.join(roles_allowed(action))}")
    if not identity.can(action):
        raise AuthError(f"{identity.name} ({identity.role}) may not {ACTIONS[action]}: that needs role "
                        f"{' or '.join(roles_allowed(action))}")
    return identity


# --------------------------------------------------------------------------- accounts


def add_user(store: DecisionStore, actor: Identity | None, name: str, role: str, password: str | None, *,
             email: str | None = None, page: str) -> dict:
    """A new account. The first one needs no actor and must be an admin; later ones need an admin. Without a
    password the account signs in only through the identity provider, by its e-mail."""
    key = normalise_username(name)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    clean_email = normalise_email(email)
    first = not sign_in_on(store)
    if first:
        if role != "admin":
            raise AuthError("the first account must be an admin, who then adds the others: "
                            "python -m core users add NAME --role admin")
    else:
        require(actor, "manage_users")
    if password is None or password == "":
        if not clean_email:
            raise ValueError("an account needs a password, or an e-mail to sign in with the identity provider")
        password_hash = ""
    else:
        check_new_password(password, key)
        password_hash = hash_password(password)
    by = actor.name if actor and actor.verified else ""
    store.accounts.add(key, role, password_hash, email=clean_email, created_by=by)
    store.accounts.log(by or key, "add_user", verified=bool(by), page=page, target=key,
                       detail=f"role {role}" + (f", e-mail {clean_email}" if clean_email else ""))
    return store.accounts.get(key) or {}


def _existing(store: DecisionStore, name: str) -> str:
    key = normalise_username(name)
    if store.accounts.get(key) is None:
        raise ValueError(f"no account named {key!r}")
    return key


def set_disabled(store: DecisionStore, actor: Identity | None, name: str, disabled: bool, *, page: str) -> None:
    """Disable (or enable again) an account; the last enabled admin cannot be disabled."""
    require(actor, "manage_users")
    key = _existing(store, name)
    if disabled:
        admins = [u for u in store.accounts.list() if u["role"] == "admin" and not u["disabled"]]
        if [u["name"] for u in admins] == [key]:
            raise AuthError(f"{key} is the last enabled admin: add or enable another admin first")
    store.accounts.set_disabled(key, disabled)
    store.accounts.log(actor.name if actor else "", "disable_user" if disabled else "enable_user",
                       verified=bool(actor and actor.verified), page=page, target=key)


def change_password(store: DecisionStore, actor: Identity | None, name: str, password: str, *, page: str) -> None:
    """A new password for ``name``: by an admin, or by the account itself. Clears its lockout."""
    key = _existing(store, name)
    if actor is None or actor.name != key:
        require(actor, "manage_users")
    check_new_password(password, key)
    store.accounts.set_password(key, hash_password(password))
    store.accounts.log(actor.name if actor else key, "change_password", verified=True, page=page, target=key)


def cli_identity(store: DecisionStore, user: str | None, password: str | None, action: str | None, command: str
                 ) -> Identity | None:
    """Who runs a CLI command that changes data: None while the store has no account (nothing is needed);
    else the signed-in ``user``, whose role must allow ``action`` (any role for None; AuthError otherwise)."""
    if not sign_in_on(store):
        return None
    roles = " or ".join(roles_allowed(action)) if action else "any"
    if not user:
        raise AuthError(f"this decision store has accounts: `{command}` needs --user NAME (role {roles}), with "
                        "the password on standard input (--password-stdin) or in CODER_PASSWORD")
    identity = sign_in(store, user, password or "", page="cli", method="cli")
    if identity is None:
        raise AuthError(SIGN_IN_FAILED)
    return require(identity, action) if action else identity
