"""``users``: accounts of the decision store (sign-in is on as soon as one exists).

``users add NAME --role coder|auditor|admin`` (the first account must be an admin and needs no ``--user``; later
ones need an admin's ``--user``), ``users list``, ``users disable NAME``, ``users enable NAME``,
``users passwd NAME`` (an admin, or the account itself). Passwords come from standard input with
``--password-stdin`` (one a line: the acting user's first unless ``CODER_PASSWORD`` holds it, then the new one), or
from a prompt on a terminal; they are never taken from the command line, where other users could read them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import PasswordSource, add_auth_options, cli_actor, settings_from_args

PAGE = "cli"


def _store(args: argparse.Namespace):  # noqa: ANN202
    from core.store import DecisionStore

    return DecisionStore(settings_from_args(args).database_url)


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def cmd_add(args: argparse.Namespace) -> int:
    from core.auth import AuthError, add_user, sign_in_on
    from core.store import StoreUnavailable

    try:
        store = _store(args)
        passwords = PasswordSource(args.password_stdin)
        actor = None
        if sign_in_on(store):
            actor = cli_actor(args, settings_from_args(args), "manage_users", "users add", passwords)
        password = None
        if not args.no_password:
            password = passwords.new(args.name)
            if password is None:
                raise AuthError("no new password: give it on standard input with --password-stdin, or type it at "
                                "the prompt (or use --no-password with --email for an identity-provider account)")
            if password == "":
                raise AuthError("the two passwords typed differ: nothing was changed")
        account = add_user(store, actor, args.name, args.role, password, email=args.email, page=PAGE)
    except (AuthError, ValueError, StoreUnavailable) as exc:
        return _fail(exc)
    first = actor is None
    print(f"added {account['name']} ({account['role']})" + (f", e-mail {account['email']}" if account["email"] else "")
          + (": sign-in is now on for the app and for the CLI commands that change data" if first else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from core.auth import locked_until
    from core.store import StoreUnavailable, store_exists

    url = settings_from_args(args).database_url
    try:
        store = _store(args) if store_exists(url) else None  # reading must not create an empty store file
        users = store.accounts.list() if store else []
        for user in users:
            user["locked"] = bool(locked_until(store, user["name"]))
    except StoreUnavailable as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(users, indent=2))
        return 0
    if not users:
        print("no accounts: sign-in is off (python -m core users add NAME --role admin creates the first)")
        return 0
    print(f"{'name':<24}{'role':<9}{'status':<10}{'e-mail':<32}created")
    for user in users:
        status = "disabled" if user["disabled"] else "locked" if user["locked"] else "active"
        print(f"{user['name']:<24}{user['role']:<9}{status:<10}{user['email'] or '-':<32}{user['created_at'][:16]}")
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from core.auth import AuthError, set_disabled
    from core.store import StoreUnavailable

    try:
        store = _store(args)
        actor = cli_actor(args, settings_from_args(args), "manage_users", f"users {args.command_name}")
        if actor is None:
            raise AuthError("this decision store has no account yet: nothing to " + args.command_name)
        set_disabled(store, actor, args.name, disabled, page=PAGE)
    except (AuthError, ValueError, StoreUnavailable) as exc:
        return _fail(exc)
    print(f"{'disabled' if disabled else 'enabled'} {args.name.strip().casefold()}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def cmd_passwd(args: argparse.Namespace) -> int:
    from core.auth import AuthError, change_password
    from core.store import StoreUnavailable

    args.user = args.user or args.name  # without --user: the account changes its own password
    try:
        store = _store(args)
        passwords = PasswordSource(args.password_stdin)
        actor = cli_actor(args, settings_from_args(args), "manage_users" if args.user != args.name else None,
                          "users passwd", passwords)
        if actor is None:
            raise AuthError("this decision store has no account yet: users add NAME --role admin creates the first")
        password = passwords.new(args.name)
        if not password:
            raise AuthError("no new password (or the two typed differ): nothing was changed")
        change_password(store, actor, args.name, password, page=PAGE)
    except (AuthError, ValueError, StoreUnavailable) as exc:
        return _fail(exc)
    print(f"password changed for {args.name.strip().casefold()}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from core.auth import ROLES

    p = sub.add_parser("users", help="accounts: sign-in, roles (coder, auditor, admin)")
    users = p.add_subparsers(dest="users_command", required=True)

    def command(name: str, help_text: str, func) -> argparse.ArgumentParser:  # noqa: ANN001
        parser = users.add_parser(name, help=help_text)
        parser.add_argument("--config", type=Path, help="TOML settings file (default coder.toml or $CODER_CONFIG)")
        parser.set_defaults(func=func, command_name=name)
        return parser

    add = command("add", "add an account (the first must be an admin)", cmd_add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--email", help="the e-mail the identity provider confirms (st.login), for OIDC sign-in")
    add.add_argument("--no-password", action="store_true",
                     help="no password: the account signs in only through the identity provider (needs --email)")
    add_auth_options(add)
    listing = command("list", "list the accounts, their roles and status", cmd_list)
    listing.add_argument("--json", action="store_true")
    for name, help_text, func in (("disable", "disable an account (it can no longer sign in)", cmd_disable),
                                  ("enable", "enable a disabled account again", cmd_enable),
                                  ("passwd", "set a new password (an admin, or the account itself)", cmd_passwd)):
        parser = command(name, help_text, func)
        parser.add_argument("name")
        add_auth_options(parser)
