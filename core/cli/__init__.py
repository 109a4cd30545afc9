"""Command line: ``python -m core <command> --help``. Each command group lives in its own module and adds its
parsers here, so a new command is one module and one line in ``COMMAND_MODULES``."""

from __future__ import annotations

import argparse
import logging
import sys

from core.cli import coding, evaluation, kb, training, users, worklist
from core.cli.common import settings_from_args

COMMAND_MODULES = (kb, coding, training, evaluation, users, worklist)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Offline clinical coding assistant")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        settings_from_args(args)  # a bad setting (coder.toml, CODER_* variable) is one clear line, not a traceback
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
