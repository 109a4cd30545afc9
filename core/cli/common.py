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
    parser.add_argument("--backend", choices=BACKENDS, help="LLM backend (default embedded; none = deterministic)")
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
