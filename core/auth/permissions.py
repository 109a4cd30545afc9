"""Roles and what each may do, as data: ``PERMISSIONS[role]`` is the set of actions a role allows, and
:func:`allowed` is the one check the app (buttons, pages) and the CLI (commands that change data) both call.

Why these sets (``docs/access.md``): a coder codes notes and decides and submits charts; an auditor reads
everything (runs, decisions, the access log) and exports, and changes nothing, so a decision never has two kinds
of author; an admin manages accounts, retrains the ranker and chooses the pipeline settings, and may also do what
coders and auditors do (a small team's lead often codes too; a hospital that wants the duties apart edits this
table). ``local`` is not an account's role: it is the single coder on their own machine while no account exists
(sign-in off), who may do everything, as before sign-in existed.
"""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    "code": "code a note (runs the coder and stores the run)",
    "decide": "accept, reject, replace or add codes",
    "submit": "submit a chart",
    "open_runs": "open stored notes and runs",
    "audit": "the Audit page: every decision, why each code was proposed, the access log",
    "export": "download decisions, submissions and the access log",
    "evaluate": "the Evaluation page: score the coder on a CodiEsp split",
    "manage_users": "add, disable and enable accounts, reset passwords",
    "retrain": "retrain the ranker from coder decisions, restore the previous model",
    "settings": "choose the strategy, backend, model and server addresses",
}
ROLES = ("coder", "auditor", "admin")
LOCAL = "local"  # sign-in off: no account exists

_CODER = frozenset({"code", "decide", "submit", "open_runs"})
_AUDITOR = frozenset({"open_runs", "audit", "export", "evaluate"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "coder": _CODER,
    "auditor": _AUDITOR,
    "admin": _CODER | _AUDITOR | {"manage_users", "retrain", "settings"},
    LOCAL: frozenset(ACTIONS),
}

# The page each action opens; a page not listed needs "open_runs" (it may show notes).
PAGE_ACTIONS: dict[str, str | None] = {
    "Code a note": "open_runs",
    "Worklist": "open_runs",
    "Code browser": None,  # the code sets only: any signed-in user
    "Audit": "audit",
    "Evaluation": "evaluate",
    "Users": "manage_users",
}


def allowed(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action``; an unknown role or action may do nothing."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {sorted(ACTIONS)}")
    return action in PERMISSIONS.get(role or "", frozenset())


def page_action(page: str) -> str | None:
    """The action a page needs (None: any signed-in user)."""
    return PAGE_ACTIONS.get(page, "open_runs")


def roles_allowed(action: str) -> list[str]:
    """The account roles that may do ``action``, for messages ("needs role admin")."""
    return [role for role in ROLES if allowed(role, action)]
