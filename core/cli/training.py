"""``train``: the supervised ranker from coded notes and coders' charts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import add_auth_options, add_common_options, cli_actor, positive_int, settings_from_args
from core.progress import cli_progress
from core.ranking.registry import rankers_for
from core.training.feedback import decision_notes


def _print_retrain(report) -> None:  # noqa: ANN001
    """The before/after table of ``core.training.retrain.RetrainReport`` and what was saved."""
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


def _log_model_change(settings, actor, action: str, model_name: str) -> None:  # noqa: ANN001
    """With sign-in on, who changed the app's model goes to the access log."""
    if actor is None:
        return
    from core.store import DecisionStore

    DecisionStore(settings.database_url).accounts.log(actor.name, action, verified=True, page="cli",
                                                      target=f"ranker {settings.language}", detail=model_name)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the supervised ranker on coded notes (and, optionally, the decision store's submitted charts)."""
    from core.kb.knowledge import get_knowledge
    from core.ranking.ranker import train_ranker

    settings = settings_from_args(args)
    if args.data is not None:  # the CodiEsp folder to learn from (default data_dir/codiesp)
        if not args.data.is_dir():
            print(f"error: --data {args.data} is not a directory (expected CodiEsp's <split>/ folders)", file=sys.stderr)
            return 2
        settings = settings.with_overrides(codiesp_dir=str(args.data.resolve()))
    # Every form of train replaces a model the app codes with: with sign-in on, an account whose role may retrain.
    from core.auth import AuthError
    from core.store import StoreUnavailable

    what = "restore_model" if args.restore_previous else "retrain"
    try:
        actor = cli_actor(args, settings, "retrain", "train")
    except (AuthError, StoreUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kb = get_knowledge(settings)
    if args.restore_previous or args.from_decisions:
        from core.store import DecisionStore
        from core.training.retrain import RetrainError, restore_previous_ranker, retrain_from_decisions

        try:
            if args.restore_previous:
                info = restore_previous_ranker(kb, settings.language)
                print(json.dumps({"restored": info.name, "path": info.path, "trained_on": info.trained_on}, indent=2)
                      if args.json else f"restored {info.name} ({', '.join(info.trained_on)}) at {info.path}")
                _log_model_change(settings, actor, what, info.name)
                return 0

            report = retrain_from_decisions(kb, settings, DecisionStore(settings.database_url),
                                            eval_split=args.eval_split, limit=args.limit, progress=cli_progress())
        except RetrainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            _print_retrain(report)
        _log_model_change(settings, actor, what, report.active.name)
        return 0
    splits = tuple(args.split.split(","))
    progress = cli_progress()
    step = f"train {settings.language}"
    progress(step, f"reading the coded notes of {'+'.join(splits)}", 0, 3)
    notes = kb.coded_notes(splits, settings.language)
    if not notes:
        print(f"error: no coded notes for splits {splits} under {kb.codiesp_root or settings.data_dir}", file=sys.stderr)
        return 2
    extra = []
    if args.with_decisions:
        # A chart of a note that is a case of another labelled split (dev) would let an evaluation on that split
        # score the model on its own answers: left out, and said.
        extra, leaking = decision_notes(kb, settings.language, splits)
        if leaking:
            print(f"note: {len(leaking)} submitted chart(s) left out: same text as a case of "
                  f"{', '.join(s for s in kb.labelled_splits() if s not in splits)}", file=sys.stderr)
    progress(step, f"dictionary for {'+'.join(splits)}", 1, 3)
    linker = kb.linker(settings.language, splits)
    progress(step, f"training the ranker on {len(notes) + len(extra)} notes", 2, 3)
    model = train_ranker(notes, linker, kb.tabular, label="codiesp:" + "+".join(splits), extra_notes=extra)
    progress(step, "trained", 3, 3)
    from core.training.retrain import active_ranker_path, save_active

    path = rankers_for(kb).path(settings.language, splits)
    previous = save_active(model, path)  # the model there before (maybe trained on coders' charts) is kept
    _log_model_change(settings, actor, what, model.name)
    print(json.dumps(model.describe() | {"path": str(path), "decision_store_notes": len(extra),
                                         "previous": previous.name if previous else None}, indent=2))
    if previous is not None:
        undo = (f"`train --lang {settings.language} --restore-previous` puts it back"
                if path == active_ranker_path(kb, settings.language) else f"as {path.stem}.previous.pkl")
        print(f"note: the model it replaced ({previous.name}, {', '.join(previous.trained_on)}) is kept; {undo}",
              file=sys.stderr)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the supervised code ranker on coded notes")
    add_common_options(p)
    p.add_argument("--data", type=Path, help="directory holding CodiEsp's <split>/ folders (default data_dir/codiesp)")
    p.add_argument("--split", default="train", help="comma-separated CodiEsp splits to learn from")
    p.add_argument("--with-decisions", action="store_true", help="also learn from charts submitted in the app")
    p.add_argument("--from-decisions", action="store_true",
                   help="retrain the app's model from submitted charts and print before/after metrics on "
                   "--eval-split (ranker strategy, backend none); the replaced model is kept (--split is not used)")
    p.add_argument("--eval-split", default="dev", help="with --from-decisions: the split the change is measured on")
    p.add_argument("--limit", type=positive_int, help="with --from-decisions: score only the first N cases of --eval-split")
    p.add_argument("--restore-previous", action="store_true",
                   help="swap the app's model with the one the last --from-decisions replaced")
    p.add_argument("--json", action="store_true", help="with --from-decisions / --restore-previous: JSON output")
    add_auth_options(p)  # with sign-in on: --user NAME of an admin (password from --password-stdin / CODER_PASSWORD)
    p.set_defaults(func=cmd_train)
