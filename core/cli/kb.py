"""Knowledge-base commands: ``resources``, ``build`` and ``search``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

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
    """Build (or load) every cache the default coding path needs, with progress, and report how long it took.
    The dense retrieval index only with ``--dense``: searches and the LLM strategies build it in the background."""
    from core.kb.knowledge import get_knowledge
    from core.progress import cli_progress

    settings = settings_from_args(args)
    progress = cli_progress()
    kb = get_knowledge(settings).with_options(progress=progress)
    steps: list[tuple[str, Callable[[], object]]] = [("tabular list", lambda: kb.tabular),
                                                     ("alphabetical index", lambda: kb.index)]
    for language in args.languages:
        steps += [(f"dictionary {language}", lambda lang=language: kb.linker(lang)),
                  (f"ranker {language}", lambda lang=language: rankers_for(kb).get(lang))]
        if args.retrieval:
            steps.append((f"lexical index {language}", lambda lang=language: kb.retriever(lang)))
    steps.append(("index navigator", lambda: kb.navigator))  # the conventions step's walks (about 10 s cold)
    dense = args.dense and args.retrieval and settings.embedding_model != "none"
    if dense:
        steps += [(f"dense index {language}", lambda lang=language: kb.retriever(lang).ensure_dense("wait"))
                  for language in args.languages]
    report: dict[str, float] = {}
    started_all = time.perf_counter()
    for done, (name, build) in enumerate(steps):
        progress("build", name, done, len(steps))
        started = time.perf_counter()
        build()
        report[f"{name.replace(' ', '_')}_s"] = round(time.perf_counter() - started, 2)
    progress("build", "done", len(steps), len(steps))
    report["total_s"] = round(time.perf_counter() - started_all, 2)
    for language in args.languages if args.retrieval else ():
        report.update({f"retriever_{language}_{k}": v for k, v in kb.retriever(language).timings.items()})
    report.update(kb.timings)
    print(json.dumps(report, indent=2))
    print_notices(kb)
    if args.retrieval and not dense and settings.embedding_model != "none":
        print(f"note: the dense retrieval index ({settings.embedding_model}) was not built: the default coding path "
              "does not use it; searches and the LLM strategies build it in the background the first time they need "
              "it (about 15 minutes on 2 cores, once), or `python -m core build --dense` builds it now",
              file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from core.kb.knowledge import get_knowledge

    settings = settings_from_args(args)
    # One search: the dense half when it is on disk (built now, with progress, with --dense).
    if args.dense:
        from core.progress import cli_progress

        kb = get_knowledge(settings).with_options(dense_policy="wait", progress=cli_progress())
    else:
        kb = get_knowledge(settings).with_options(dense_policy="cached")
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
    p.add_argument("--dense", action="store_true",
                   help="also build the dense retrieval index now (minutes; otherwise built in the background on "
                   "first use)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="hybrid search of index terms and tabular descriptions")
    add_common_options(p)
    p.add_argument("query")
    p.add_argument("--k", type=positive_int, default=10)
    p.add_argument("--dense", action="store_true",
                   help="build the dense index first when it is not on disk (minutes, with progress)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
