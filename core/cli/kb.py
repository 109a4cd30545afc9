"""Knowledge-base commands: ``resources``, ``build`` and ``search``."""

from __future__ import annotations

import argparse
import json
import time

from core.cli.common import add_common_options, positive_int, print_notices, settings_from_args
from core.ranking.registry import rankers_for
from core.settings import LANGUAGES


def cmd_resources(args: argparse.Namespace) -> int:
    from core.kb.knowledge import get_knowledge

    kb = get_knowledge(settings_from_args(args))
    rows = [info.model_dump() for info in kb.resources()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            state = "ok     " if row["loaded"] else "MISSING"
            print(f"{state} {row['name']} {row['edition']} ({row['items']} items) {row['source']}")
            if row["notice"]:
                print(f"        {row['notice']}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Build (or load) every cache the app needs, and report how long it took."""
    from core.kb.knowledge import get_knowledge

    settings = settings_from_args(args)
    kb = get_knowledge(settings)
    report: dict[str, float] = {}
    for language in args.languages:
        started = time.perf_counter()
        kb.linker(language)
        report[f"linker_{language}_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        if rankers_for(kb).get(language) is not None:
            report[f"ranker_{language}_s"] = round(time.perf_counter() - started, 2)
        if args.retrieval:
            started = time.perf_counter()
            retriever = kb.retriever(language)
            report[f"retriever_{language}_s"] = round(time.perf_counter() - started, 2)
            report.update({f"retriever_{language}_{k}": v for k, v in retriever.timings.items()})
    report.update(kb.timings)
    print(json.dumps(report, indent=2))
    print_notices(kb)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from core.kb.knowledge import get_knowledge

    settings = settings_from_args(args)
    kb = get_knowledge(settings)
    hits = kb.search(args.query, settings.language, k=args.k)
    if args.json:
        print(json.dumps([hit.__dict__ for hit in hits], indent=2, ensure_ascii=False))
    else:
        for hit in hits:
            billable = "billable" if kb.tabular.is_billable(hit.code) else "complete in tabular"
            print(f"{hit.rank:>3}. {hit.score:.4f}  {hit.code:<9} {hit.text}  [{hit.source}; {billable}; "
                  f"lexical #{hit.lexical_rank or '-'}, dense #{hit.dense_rank or '-'}]")
    print_notices(kb)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resources", help="list loaded resources, editions and what is missing")
    add_common_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resources)

    p = sub.add_parser("build", help="build or load the cached knowledge base, dictionary and retrievers")
    add_common_options(p)
    p.add_argument("--languages", nargs="+", choices=LANGUAGES, default=list(LANGUAGES))
    p.add_argument("--no-retrieval", dest="retrieval", action="store_false", help="skip the retrieval indexes")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="hybrid search of index terms and tabular descriptions")
    add_common_options(p)
    p.add_argument("query")
    p.add_argument("--k", type=positive_int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
