"""``worklist`` (import, status, list, retry, release) and ``worker``: the queue of charts and its pre-coding workers."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from core.cli.common import add_common_options, add_pipeline_options, settings_from_args
from core.store.worklist import STATES


def _queue(args: argparse.Namespace):  # noqa: ANN202
    from core.store import DecisionStore, store_location
    from core.worklist.queue import WorklistQueue

    settings = _settings(args)
    store = DecisionStore(settings.database_url)
    return settings, WorklistQueue(store), store_location(settings.database_url)


def _settings(args: argparse.Namespace):  # noqa: ANN202
    settings = settings_from_args(args)
    return settings.with_overrides(db_url=args.db_url) if getattr(args, "db_url", None) else settings


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="the decision store (default: db_url from the settings, else the SQLite file "
                        "under state_dir), e.g. postgresql+psycopg://coder@dbhost/coding")


def _store_error(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def cmd_import(args: argparse.Namespace) -> int:
    from core.store import StoreUnavailable
    from core.worklist.intake import import_charts

    try:
        settings, queue, where = _queue(args)
        report = import_charts(queue, args.path, language=settings.language, priority=args.priority,
                               assignee=(args.assign or "").strip() or None)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        return _store_error(exc)
    for item, reason in report.problems:
        print(f"not imported: {item}: {reason}", file=sys.stderr)
    for item, notice in report.notices:
        print(f"note: {item}: {notice}", file=sys.stderr)
    if report.ignored:
        print(f"note: {len(report.ignored)} file(s) that are not .txt were left alone", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"queued {len(report.queued)} chart(s) in {where}; {len(report.duplicates)} already queued (same "
              f"text); {len(report.problems)} not imported")
    return 1 if report.problems else 0


def cmd_status(args: argparse.Namespace) -> int:
    from core.store import StoreUnavailable

    try:
        _, queue, where = _queue(args)
        status = queue.status()
    except StoreUnavailable as exc:
        return _store_error(exc)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"worklist in {where}: {status['total']} chart(s), {status['runs']} stored run(s)")
    for state in STATES:
        print(f"  {state:<10} {status[state]:>6}")
    if status["oldest_waiting_s"] is not None:
        print(f"  oldest waiting chart: {status['oldest_waiting_s'] / 60:.1f} min")
    for coder, counts in status["coders"].items():
        print(f"  coder {coder}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from core.store import StoreUnavailable

    try:
        _, queue, _where = _queue(args)
        charts = queue.items(states=args.state or None, person=args.coder, limit=args.limit)
    except StoreUnavailable as exc:
        return _store_error(exc)
    if args.json:
        print(json.dumps([c.as_dict() for c in charts], indent=2))
        return 0
    for c in charts:
        who = c.reviewer or c.assignee or ""
        print(f"#{c.id:<6} {c.state:<10} {c.language:<3} p{c.priority:<3} {c.n_codes:>3} codes {c.n_candidates:>3} "
              f"cand. {who:<16} {c.external_id} {c.error}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from core.store import StoreUnavailable

    try:
        _, queue, _where = _queue(args)
        n = queue.retry(args.ids or None)
    except StoreUnavailable as exc:
        return _store_error(exc)
    print(f"{n} failed chart(s) queued again")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from core.store import StoreUnavailable

    try:
        _, queue, _where = _queue(args)
        released = [i for i in args.ids if queue.release_review(i)]
    except StoreUnavailable as exc:
        return _store_error(exc)
    print(f"released {len(released)} chart(s) back to the queue" + (f": {released}" if released else ""))
    return 0 if len(released) == len(args.ids) else 1


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_worker(args: argparse.Namespace) -> int:
    from core.kb.knowledge import get_knowledge
    from core.store import DecisionStore, StoreUnavailable, store_location
    from core.worklist.worker import run_worker

    settings = _settings(args)
    try:
        store = DecisionStore(settings.database_url)
    except StoreUnavailable as exc:
        return _store_error(exc)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a stopped worker hands its chart back at once
    if not args.quiet:
        print(f"worker: {store_location(settings.database_url)} · strategy {settings.strategy} · backend "
              f"{settings.backend}" + (" · until the queue is empty" if args.until_empty else ""), file=sys.stderr)

    def report(chart, outcome: str, detail: str) -> None:  # noqa: ANN001
        if not args.quiet:
            print(f"  #{chart.id} {chart.external_id}: {outcome} {detail}".rstrip(), file=sys.stderr, flush=True)

    try:
        stats = run_worker(settings, until_empty=args.until_empty, lease_s=args.lease_s, poll_s=args.poll_s,
                           delay_s=args.delay_s, max_charts=args.max_charts, stop=threading.Event(), store=store,
                           on_chart=report)
    except KeyboardInterrupt:
        print("worker stopped; the chart it was coding is back in the queue", file=sys.stderr)
        return 130
    summary = stats.summary()
    if args.json:
        print(json.dumps(summary))
    elif not args.quiet:
        print(f"worker done: {summary['coded']} coded, {summary['failed']} failed, {summary['lost']} taken over; "
              f"{summary['charts_per_s']} charts/s; claim p95 {summary['claim_p95_ms']} ms", file=sys.stderr)
    for notice in get_knowledge(settings).notices():
        print(f"notice: {notice}", file=sys.stderr)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    wl = sub.add_parser("worklist", help="the queue of charts: import, status, list, retry, release")
    wl_sub = wl.add_subparsers(dest="worklist_command", required=True)

    p = wl_sub.add_parser("import", help="queue notes: a folder of .txt files, a .jsonl / .csv file with id and text "
                                         "(optional lang), or a CodiEsp-style split folder")
    add_common_options(p)
    _add_store_option(p)
    p.add_argument("path", type=Path)
    p.add_argument("--priority", type=int, default=0, help="higher is reviewed first (default 0)")
    p.add_argument("--assign", metavar="CODER", help="only this coder gets these charts")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import)

    p = wl_sub.add_parser("status", help="charts per state, stored runs, per-coder counts")
    add_common_options(p)
    _add_store_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = wl_sub.add_parser("list", help="the charts, highest priority and oldest first")
    add_common_options(p)
    _add_store_option(p)
    p.add_argument("--state", action="append", choices=STATES, help="only charts in this state (repeatable)")
    p.add_argument("--coder", help="only charts assigned to or reviewed by this coder")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = wl_sub.add_parser("retry", help="queue failed charts again (all, or the ids given)")
    add_common_options(p)
    _add_store_option(p)
    p.add_argument("ids", type=int, nargs="*")
    p.set_defaults(func=cmd_retry)

    p = wl_sub.add_parser("release", help="give charts a coder left open back to the queue (their decisions stay)")
    add_common_options(p)
    _add_store_option(p)
    p.add_argument("ids", type=int, nargs="+")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("worker", help="pre-code queued charts (many workers may share one store)")
    add_common_options(p)
    _add_store_option(p)
    add_pipeline_options(p)
    p.add_argument("--until-empty", action="store_true", help="stop when nothing is queued or being coded")
    p.add_argument("--lease-s", type=float, default=300.0,
                   help="how long a claimed chart stays this worker's without a renewal (default 300; renewed every "
                   "third of it while coding)")
    p.add_argument("--poll-s", type=float, default=2.0, help="wait between looks at an empty queue (default 2)")
    p.add_argument("--delay-s", type=float, default=0.0,
                   help="wait this long with the lease held before coding each chart (fault drills; default 0)")
    p.add_argument("--max-charts", type=int, help="stop after this many charts")
    p.add_argument("--json", action="store_true", help="print a JSON summary (charts, charts/s, claim latency)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_worker)
