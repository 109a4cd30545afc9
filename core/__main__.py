"""Command line: ``python -m core {resources,build,search,code,train,evaluate} --help``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from core.settings import ASSERTION_POLICIES, BACKENDS, LANGUAGES, RESULT_SETTINGS, STRATEGIES, Settings, load_settings


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _common(parser: argparse.ArgumentParser) -> None:
    # -v after the subcommand too ("train ... -v"); SUPPRESS keeps the top-level value when it is not given here.
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress")
    parser.add_argument("--lang", choices=LANGUAGES, help="note language (default from settings: en)")
    parser.add_argument("--data-dir", type=Path, help="read-only reference data (default ../shared/data)")
    parser.add_argument("--cache-dir", type=Path, help="where built indexes are cached")
    parser.add_argument("--config", type=Path, help="TOML settings file (default coder.toml or $CODER_CONFIG)")


def _pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, help="LLM backend (default embedded; none = deterministic)")
    parser.add_argument("--strategy", choices=STRATEGIES, help="coding strategy (default clh)")
    parser.add_argument("--model", help="model name for the backend")
    parser.add_argument("--assertion-policy", choices=ASSERTION_POLICIES,
                        help="coding: negated mentions are never coded (default); codiesp: mimic CodiEsp's gold")
    parser.add_argument("--no-ranker-merge", dest="ranker_merge", action="store_const", const=False,
                        help="keep the strategy's own decisions (default: the supervised ranker decides the codes it "
                        "has evidence for; the deterministic and ranker strategies never merge)")


def _settings(args: argparse.Namespace):  # noqa: ANN202
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
    )


def _print_notices(kb) -> None:  # noqa: ANN001
    for notice in kb.notices():
        print(f"notice: {notice}", file=sys.stderr)


def cmd_resources(args: argparse.Namespace) -> int:
    from core.knowledge import get_knowledge

    kb = get_knowledge(_settings(args))
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
    from core.knowledge import get_knowledge

    settings = _settings(args)
    kb = get_knowledge(settings)
    report: dict[str, float] = {}
    for language in args.languages:
        started = time.perf_counter()
        kb.linker(language)
        report[f"linker_{language}_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        if kb.ranker(language) is not None:
            report[f"ranker_{language}_s"] = round(time.perf_counter() - started, 2)
        if args.retrieval:
            started = time.perf_counter()
            retriever = kb.retriever(language)
            report[f"retriever_{language}_s"] = round(time.perf_counter() - started, 2)
            report.update({f"retriever_{language}_{k}": v for k, v in retriever.timings.items()})
    report.update(kb.timings)
    print(json.dumps(report, indent=2))
    _print_notices(kb)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from core.knowledge import get_knowledge

    settings = _settings(args)
    kb = get_knowledge(settings)
    hits = kb.search(args.query, settings.language, k=args.k)
    if args.json:
        print(json.dumps([hit.__dict__ for hit in hits], indent=2, ensure_ascii=False))
    else:
        for hit in hits:
            billable = "billable" if kb.tabular.is_billable(hit.code) else "complete in tabular"
            print(f"{hit.rank:>3}. {hit.score:.4f}  {hit.code:<9} {hit.text}  [{hit.source}; {billable}; "
                  f"lexical #{hit.lexical_rank or '-'}, dense #{hit.dense_rank or '-'}]")
    _print_notices(kb)
    return 0


def _learned_terms(settings: Settings) -> list[dict]:
    """Terms coders taught in the app (as the app codes with them); none when learning is off or no store exists."""
    from core.store import DecisionStore, StoreUnavailable, store_exists

    if not settings.learn_from_decisions or not store_exists(settings.database_url):
        return []
    try:
        return DecisionStore(settings.database_url).learned_terms(settings.language)
    except StoreUnavailable as exc:
        print(f"warning: coding without the coders' learned terms: {exc}", file=sys.stderr)
        return []


def cmd_code(args: argparse.Namespace) -> int:
    from core.pipeline.runner import code_note, compose_accents

    settings = _settings(args)
    try:
        text = Path(args.note).read_text(encoding="utf-8") if args.note != "-" else sys.stdin.read()
    except UnicodeDecodeError:
        print(f"error: {args.note} is not UTF-8 text", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {args.note}: {exc}", file=sys.stderr)
        return 2
    composed = compose_accents(text)
    if composed != text:
        print("note: the note's decomposed accents were composed (Unicode NFC); evidence offsets refer to that form",
              file=sys.stderr)
    try:
        result = code_note(composed, settings, learned_terms=_learned_terms(settings))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        for title, items in (("codes", result.codes), ("candidates", result.candidates)):
            print(f"{title}:")
            for item in items:
                spans = "; ".join(f"{s.start}-{s.end} {s.text!r}" for s in item.evidence)
                print(f"  {item.code:<9} {item.score:.2f} {item.description}  <- {spans}")
        for message in result.messages:
            print(f"{message.level}: {message.message}")
    for step in result.trace:  # the language model was not used here: the dictionary and rules stood in
        if step.fallback:
            print(f"warning: {step.step} fell back to the deterministic path: {step.fallback}", file=sys.stderr)
    from core.knowledge import get_knowledge

    _print_notices(get_knowledge(settings))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.codiesp import GOLD_IN_CURRENT_EDITION, gold_code_set
    from core.evaluate import SETTINGS_FILE, WARM_UP_NOTES, run_evaluation
    from core.knowledge import get_knowledge
    from core.pipeline.runner import code_note

    settings = _settings(args)
    if args.data is not None:  # the dictionary learns from the same CodiEsp folder the cases come from
        settings = settings.with_overrides(codiesp_dir=str(Path(args.data).resolve()))
    data = args.data or (settings.data_dir / settings.codiesp_dir)
    kb = get_knowledge(settings)
    gold_codes: str | None = GOLD_IN_CURRENT_EDITION
    if args.resume and args.out is not None and _readable_json(args.out / SETTINGS_FILE):
        # Scored as it was begun: a run from before the gold was moved compared its codes with the gold as written.
        gold_codes = json.loads((args.out / SETTINGS_FILE).read_text(encoding="utf-8")).get("gold_codes")
    try:
        cases = kb.load_cases(Path(data), args.split, settings.language, gold_codes)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        cases = cases[: args.limit]
    # The dictionary learns only from labelled splits other than the one evaluated.
    train_splits = tuple(s for s in kb.labelled_splits() if s != args.split) if not args.train_splits else tuple(
        args.train_splits.split(","))
    train_codes: set[str] = set()
    for split in train_splits:
        try:
            train_codes |= gold_code_set(kb.load_cases(Path(data), split, settings.language, gold_codes))
        except FileNotFoundError:
            pass

    def code_case(case):  # noqa: ANN001, ANN202
        return code_note(case.text, settings, kb=kb, splits=train_splits)

    def warm_up() -> None:
        code_note(WARM_UP_NOTES[settings.language], settings, kb=kb, splits=train_splits)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() or done == total or done % 25 == 0:
            print(f"\r{done}/{total} cases", end="" if sys.stderr.isatty() else "\n", file=sys.stderr, flush=True)

    settings_dict = settings.public_dict() | {"split": args.split, "train_splits": list(train_splits),
                                              "limit": args.limit}
    if gold_codes:
        settings_dict["gold_codes"] = gold_codes
    if settings.strategy == "ranker" or (settings.ranker_merge and settings.strategy != "deterministic"):
        model = kb.ranker(settings.language, train_splits)  # trained now if missing, as the first case would
        if model is not None:
            settings_dict["ranker"] = {"name": model.name, "trained_on": list(model.trained_on)}
            if "decision-store" in model.trained_on:
                print(f"warning: the ranker {model.name} was also trained on charts submitted in the app; if any of "
                      f"them is a {args.split} case, these figures score the model on its own answers "
                      "(`train --split S` without --with-decisions gives a clean model)", file=sys.stderr)
    problem = _out_folder_problem(args, settings_dict)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    report = run_evaluation(cases, code_case, args.out, settings_dict=settings_dict, train_codes=train_codes,
                            resume=args.resume, progress=progress, warm_up=warm_up)
    print(file=sys.stderr)
    if args.json:
        print(report.to_json())
    else:
        metrics = report.metrics
        for key, label in (("micro", "full-code"), ("micro_category", "category")):
            if metrics.get(key):
                m = metrics[key]
                print(f"{label:<10} P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}")
        print(f"MAP {metrics.get('map', 0):.4f} (category {metrics.get('map_category', 0):.4f}); "
              f"EMR {metrics.get('emr', 0):.4f}; cases {report.n_cases}/{report.n_total}")
        written = metrics.get("as_written")
        if written:
            print(f"gold as CodiEsp writes it (2018 codes, CodiEsp's scorer): full-code F1 {written['micro']['f1']:.4f}, "
                  f"category F1 {written['micro_category']['f1']:.4f}, MAP {written['map']:.4f}")
        print(f"per-step recall: {metrics.get('step_recall')}")
        print(f"latency ms: {metrics.get('latency_ms')}")
        if metrics.get("warm_up_ms") is not None:
            print(f"loading before the first case (not in latency): {metrics['warm_up_ms'] / 1000:.1f} s")
        if report.out_dir:
            print(f"run folder: {report.out_dir}")
    if report.partial and report.n_cases < report.n_total:
        print(f"interrupted: {report.n_cases}/{report.n_total} cases scored"
              + (f"; `--resume --out {args.out}` codes the rest" if args.out else ""), file=sys.stderr)
        return 130
    return 0


# Settings that decide a run's predictions: resuming with others would mix two systems in one set of figures.
RUN_DEFINING = (*RESULT_SETTINGS, "split", "train_splits")


def _readable_json(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _out_folder_problem(args: argparse.Namespace, settings_dict: dict) -> str:
    """Why ``--out`` cannot be used as asked ("" when it can): a finished or interrupted run is never overwritten
    without --overwrite, and is resumed only with the settings it was started with."""
    if args.out is None:
        return ""
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} is a file, not a run folder"
    from core.evaluate import PREDICTIONS_FILE, SETTINGS_FILE, settings_changes

    if args.resume:
        if (args.out / PREDICTIONS_FILE).is_file() and not _readable_json(args.out / SETTINGS_FILE):
            return (f"{args.out / SETTINGS_FILE} is missing or unreadable, so the settings of the cases already coded "
                    "are unknown: --overwrite starts the run again, or choose another --out")
        recorded = settings_changes(args.out / SETTINGS_FILE, settings_dict)
        changed = {k: recorded[k] for k in RUN_DEFINING if recorded.get(k) is not None}  # set then, other now
        return (f"{args.out} holds a run made with other settings ({', '.join(f'{k}={v!r}' for k, v in changed.items())}):"
                " resume it with those, or write to another --out") if changed else ""
    predictions = args.out / PREDICTIONS_FILE
    if predictions.is_file() and predictions.stat().st_size and not args.overwrite:
        return f"{args.out} already holds a run: --resume continues it, --overwrite replaces it, or choose another --out"
    return ""


def _print_retrain(report) -> None:  # noqa: ANN001
    """The before/after table of ``core.retrain.RetrainReport`` and what was saved."""
    print(f"{report.language}: scored on {report.eval_split} ({report.n_eval_cases} cases), trained on "
          f"{'+'.join(report.train_splits)}; ranker strategy, backend none")
    print(f"{'metric':<14}{'before':>9}{'after':>9}{'delta':>9}")
    for row in report.table():
        print(f"{row['metric']:<14}{row['before']:>9.4f}{row['after']:>9.4f}{row['delta']:>+9.4f}")
    print(f"decision notes: {report.decision_notes_used} used, {report.n_excluded} excluded "
          f"(same text as a {report.eval_split} case)")
    print(f"before: {report.before.model.name} ({', '.join(report.before.model.trained_on)})")
    print(f"after:  {report.after.model.name} ({', '.join(report.after.model.trained_on)})")
    print(f"active model: {report.active.name} ({', '.join(report.active.trained_on)}) saved to {report.active.path}")
    if report.previous:
        print(f"previous model {report.previous.name} kept at {report.previous.path} "
              "(python -m core train --restore-previous puts it back)")
    print("timings s: " + ", ".join(f"{k} {v}" for k, v in report.timings_s.items()))


def cmd_train(args: argparse.Namespace) -> int:
    """Train the supervised ranker on coded notes (and, optionally, the decision store's submitted charts)."""
    from core.knowledge import get_knowledge
    from core.ranker import train_ranker

    settings = _settings(args)
    if args.data is not None:  # the CodiEsp folder to learn from (default data_dir/codiesp)
        if not args.data.is_dir():
            print(f"error: --data {args.data} is not a directory (expected CodiEsp's <split>/ folders)", file=sys.stderr)
            return 2
        settings = settings.with_overrides(codiesp_dir=str(args.data.resolve()))
    kb = get_knowledge(settings)
    if args.restore_previous or args.from_decisions:
        from core.retrain import RetrainError, restore_previous_ranker, retrain_from_decisions
        from core.store import DecisionStore

        try:
            if args.restore_previous:
                info = restore_previous_ranker(kb, settings.language)
                print(json.dumps({"restored": info.name, "path": info.path, "trained_on": info.trained_on}, indent=2)
                      if args.json else f"restored {info.name} ({', '.join(info.trained_on)}) at {info.path}")
                return 0

            shown: dict[str, float] = {}

            def progress(message: str, fraction: float) -> None:
                stage = message.split(":")[0]  # "Scoring the before model on dev: 12/250 cases" -> one stage
                if args.verbose and (stage not in shown or fraction - shown[stage] >= 0.05 or fraction >= 1):
                    shown[stage] = fraction
                    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

            report = retrain_from_decisions(kb, settings, DecisionStore(settings.database_url),
                                            eval_split=args.eval_split, limit=args.limit, progress=progress)
        except RetrainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            _print_retrain(report)
        return 0
    splits = tuple(args.split.split(","))
    notes = kb.coded_notes(splits, settings.language)
    if not notes:
        print(f"error: no coded notes for splits {splits} under {kb.codiesp_root or settings.data_dir}", file=sys.stderr)
        return 2
    extra = []
    if args.with_decisions:
        # A chart of a note that is a case of another labelled split (dev) would let an evaluation on that split
        # score the model on its own answers: left out, and said.
        extra, leaking = kb.decision_notes(settings.language, splits)
        if leaking:
            print(f"note: {len(leaking)} submitted chart(s) left out: same text as a case of "
                  f"{', '.join(s for s in kb.labelled_splits() if s not in splits)}", file=sys.stderr)
    model = train_ranker(notes, kb.linker(settings.language, splits), kb.tabular, label="codiesp:" + "+".join(splits),
                         extra_notes=extra)
    from core.retrain import active_ranker_path, save_active

    path = kb.ranker_path(settings.language, splits)
    previous = save_active(model, path)  # the model there before (maybe trained on coders' charts) is kept
    print(json.dumps(model.describe() | {"path": str(path), "decision_store_notes": len(extra),
                                         "previous": previous.name if previous else None}, indent=2))
    if previous is not None:
        undo = (f"`train --lang {settings.language} --restore-previous` puts it back"
                if path == active_ranker_path(kb, settings.language) else f"as {path.stem}.previous.pkl")
        print(f"note: the model it replaced ({previous.name}, {', '.join(previous.trained_on)}) is kept; {undo}",
              file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Offline clinical coding assistant")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("resources", help="list loaded resources, editions and what is missing")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resources)

    p = sub.add_parser("build", help="build or load the cached knowledge base, dictionary and retrievers")
    _common(p)
    p.add_argument("--languages", nargs="+", choices=LANGUAGES, default=list(LANGUAGES))
    p.add_argument("--no-retrieval", dest="retrieval", action="store_false", help="skip the retrieval indexes")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="hybrid search of index terms and tabular descriptions")
    _common(p)
    p.add_argument("query")
    p.add_argument("--k", type=_positive, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("code", help="code one note (a UTF-8 text file, or - for stdin)")
    _common(p)
    _pipeline_options(p)
    p.add_argument("note")
    p.add_argument("--json", action="store_true", help="print the full result with the per-step trace")
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("train", help="train the supervised code ranker on coded notes")
    _common(p)
    p.add_argument("--data", type=Path, help="directory holding CodiEsp's <split>/ folders (default data_dir/codiesp)")
    p.add_argument("--split", default="train", help="comma-separated CodiEsp splits to learn from")
    p.add_argument("--with-decisions", action="store_true", help="also learn from charts submitted in the app")
    p.add_argument("--from-decisions", action="store_true",
                   help="retrain the app's model from submitted charts and print before/after metrics on "
                   "--eval-split (ranker strategy, backend none); the replaced model is kept (--split is not used)")
    p.add_argument("--eval-split", default="dev", help="with --from-decisions: the split the change is measured on")
    p.add_argument("--limit", type=_positive, help="with --from-decisions: score only the first N cases of --eval-split")
    p.add_argument("--restore-previous", action="store_true",
                   help="swap the app's model with the one the last --from-decisions replaced")
    p.add_argument("--json", action="store_true", help="with --from-decisions / --restore-previous: JSON output")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a CodiEsp-style split (D codes; X spans when present)")
    _common(p)
    _pipeline_options(p)
    p.add_argument("--data", type=Path, help="directory holding <split>/ folders (default data_dir/codiesp)")
    p.add_argument("--split", default="dev")
    p.add_argument("--train-splits", help="comma-separated splits the dictionary learns from "
                   "(default: every labelled split except --split)")
    p.add_argument("--limit", type=_positive, help="only the first N cases")
    p.add_argument("--out", type=Path, help="run folder for predictions, metrics and submission files")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        _settings(args)  # a bad setting (coder.toml, CODER_* variable) is one clear line, not a traceback
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
