"""Options and helpers every command shares: settings from flags, notices, learned terms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.settings import ASSERTION_POLICIES, BACKENDS, LANGUAGES, STRATEGIES, Settings, load_settings


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def add_common_options(parser: argparse.ArgumentParser) -> None:
    # -v after the subcommand too ("train ... -v"); SUPPRESS keeps the top-level value when it is not given here.
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress")
    parser.add_argument("--lang", choices=LANGUAGES, help="note language (default from settings: en)")
    parser.add_argument("--data-dir", type=Path, help="read-only reference data (default ../shared/data)")
    parser.add_argument("--cache-dir", type=Path, help="where built indexes are cached")
    parser.add_argument("--config", type=Path, help="TOML settings file (default coder.toml or $CODER_CONFIG)")


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, help="LLM backend (default none: the instant path, no language model)")
    parser.add_argument("--strategy", choices=STRATEGIES, help="coding strategy (default clh)")
    parser.add_argument("--model", help="model name for the backend")
    parser.add_argument("--assertion-policy", choices=ASSERTION_POLICIES,
                        help="coding: negated mentions are never coded (default); codiesp: mimic CodiEsp's gold")
    parser.add_argument("--no-ranker-merge", dest="ranker_merge", action="store_const", const=False,
                        help="keep the strategy's own decisions (default: the supervised ranker decides the codes it "
                        "has evidence for; the deterministic and ranker strategies never merge)")
    parser.add_argument("--no-reconciler", dest="reconciler", action="store_const", const=False,
                        help="leave out the conventions applied last (to measure what they change)")


def settings_from_args(args: argparse.Namespace):  # noqa: ANN202
    return load_settings(
        args.config,
        language=getattr(args, "lang", None),
        data_dir=getattr(args, "data_dir", None),
        cache_dir=getattr(args, "cache_dir", None),
        backend=getattr(args, "backend", None),
        strategy=getattr(args, "strategy", None),
        model=getattr(args, "model", None),
        assertion_policy=getattr(args, "assertion_policy", None),
        ranker_merge=getattr(args, "ranker_merge", None),
        reconciler=getattr(args, "reconciler", None),
    )


def print_notices(kb) -> None:  # noqa: ANN001
    for notice in kb.notices():
        print(f"notice: {notice}", file=sys.stderr)


def learned_terms_for(settings: Settings) -> list[dict]:
    """Terms coders taught in the app (as the app codes with them); none when learning is off or no store exists."""
    from core.store import DecisionStore, StoreUnavailable, store_exists

    if not settings.learn_from_decisions or not store_exists(settings.database_url):
        return []
    try:
        return DecisionStore(settings.database_url).learned_terms(settings.language)
    except StoreUnavailable as exc:
        print(f"warning: coding without the coders' learned terms: {exc}", file=sys.stderr)
        return []


# --------------------------------------------------------------------------- who runs a command that changes data


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", help="your account, when the decision store has accounts (sign-in on)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read passwords from standard input, one a line: yours first (unless CODER_PASSWORD is "
                        "set), then a new one where the command sets one")


class PasswordSource:
    """Passwords for one command: CODER_PASSWORD, lines of standard input (--password-stdin), or a prompt."""

    def __init__(self, from_stdin: bool) -> None:
        self._lines = iter(sys.stdin.read().splitlines()) if from_stdin else None

    def _next(self, prompt: str) -> str | None:
        if self._lines is not None:
            return next(self._lines, None)
        if not sys.stdin.isatty():
            return None
        import getpass

        return getpass.getpass(prompt)

    def actor(self, user: str) -> str | None:
        import os

        env = os.environ.get("CODER_PASSWORD")
        return env if env is not None else self._next(f"password of {user}: ")

    def new(self, name: str) -> str | None:
        first = self._next(f"new password for {name}: ")
        if first is None or self._lines is not None:
            return first
        return first if self._next(f"new password for {name} again: ") == first else ""


def cli_actor(args: argparse.Namespace, settings: Settings, action: str | None, command: str,
              passwords: PasswordSource | None = None):  # noqa: ANN201
    """The account running a command that changes data, or None while the store has no account (nothing is
    needed then). Raises ``core.auth.AuthError`` (or ``StoreUnavailable``) with the reason when refused.
    ``passwords`` is shared with a command that then reads a new password too."""
    from core.auth import AuthError, cli_identity
    from core.store import DecisionStore, store_exists

    url = settings.database_url
    if not store_exists(url):
        return None
    store = DecisionStore(url)
    password = None
    if getattr(args, "user", None) and store.accounts.count():
        passwords = passwords or PasswordSource(args.password_stdin)
        password = passwords.actor(args.user)
        if password is None:
            raise AuthError(f"no password for {args.user}: give it on standard input with --password-stdin, or "
                            "in CODER_PASSWORD")
    return cli_identity(store, getattr(args, "user", None), password, action, command)
