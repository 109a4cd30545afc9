"""``evaluate``: score a CodiEsp-style split into a run folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import add_common_options, add_pipeline_options, positive_int, settings_from_args
from core.progress import cli_progress
from core.ranking.registry import rankers_for
from core.settings import RESULT_SETTINGS


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.datasets.codiesp import GOLD_IN_CURRENT_EDITION, gold_code_set
    from core.evaluation.evaluate import SETTINGS_FILE, WARM_UP_NOTES, run_evaluation
    from core.kb.knowledge import get_knowledge
    from core.strategies.registry import uses_ranker
    from core.strategies.runner import code_note

    settings = settings_from_args(args)
    if args.data is not None:  # the dictionary learns from the same CodiEsp folder the cases come from
        settings = settings.with_overrides(codiesp_dir=str(Path(args.data).resolve()))
    data = args.data or (settings.data_dir / settings.codiesp_dir)
    display = cli_progress()
    # A strategy that searches uses the dense half from the first case ("wait"): figures do not depend on how far a
    # background build had come.
    kb = get_knowledge(settings).with_options(dense_policy="wait", progress=display)
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
        display("evaluate", f"{args.split} cases", done, total)

    settings_dict = settings.public_dict() | {"split": args.split, "train_splits": list(train_splits),
                                              "limit": args.limit}
    if gold_codes:
        settings_dict["gold_codes"] = gold_codes
    if uses_ranker(settings):
        model = rankers_for(kb).get(settings.language, train_splits)  # trained now if missing, as the first case would
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
    from core.evaluation.evaluate import PREDICTIONS_FILE, SETTINGS_FILE, settings_changes

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


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a CodiEsp-style split (D codes; X spans when present)")
    add_common_options(p)
    add_pipeline_options(p)
    p.add_argument("--data", type=Path, help="directory holding <split>/ folders (default data_dir/codiesp)")
    p.add_argument("--split", default="dev")
    p.add_argument("--train-splits", help="comma-separated splits the dictionary learns from "
                   "(default: every labelled split except --split)")
    p.add_argument("--limit", type=positive_int, help="only the first N cases")
    p.add_argument("--out", type=Path, help="run folder for predictions, metrics and submission files")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
