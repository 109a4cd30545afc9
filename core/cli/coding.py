"""``code``: code one note from a file or stdin; ``conformance``: score a suite of notes that each test a convention."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import (
    add_common_options,
    add_pipeline_options,
    learned_terms_for,
    print_notices,
    settings_from_args,
)


def cmd_code(args: argparse.Namespace) -> int:
    from core.strategies.runner import code_note, compose_accents

    settings = settings_from_args(args)
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
    from core.kb.knowledge import get_knowledge
    from core.progress import cli_progress

    # One note: the dense half when it is on disk; a build would end with the process.
    kb = get_knowledge(settings).with_options(dense_policy="cached")
    display = cli_progress()
    try:
        result = code_note(composed, settings, learned_terms=learned_terms_for(settings), kb=kb,
                           progress=lambda step, message, *_: display("code", f"{step}: {message}"))
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
    print_notices(kb)
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    """Code every note of a conformance suite and print micro P/R/F1, per rule family and per note."""
    from core.evaluation.conformance import load_suite, score_suite
    from core.kb.knowledge import get_knowledge
    from core.strategies.runner import code_note, compose_accents

    settings = settings_from_args(args)
    try:
        notes = load_suite(args.suite)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.suite}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kb = get_knowledge(settings)
    # The suite's score must not depend on this machine's decision store: coders' learned terms are not used.
    report = score_suite(notes, lambda text: [c.code for c in code_note(compose_accents(text), settings, kb=kb).codes])
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    for score in report.notes:
        if score.missed or score.extra or score.error:
            detail = f"missed {', '.join(score.missed) or '-'}; extra {', '.join(score.extra) or '-'}"
            print(f"{score.id:<8} {score.rule:<34} {detail}" + (f"; error: {score.error}" if score.error else ""))
    print(f"{'family':<16}{'P':>8}{'R':>8}{'F1':>8}{'codes':>7}")
    for family, figures in report.families.items():
        print(f"{family:<16}{figures['precision']:>8.3f}{figures['recall']:>8.3f}{figures['f1']:>8.3f}"
              f"{figures['tp'] + figures['fn']:>7}")
    m = report.micro
    print(f"micro: P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f} over {len(report.notes)} notes "
          f"({m['tp'] + m['fn']} gold codes, {m['tp'] + m['fp']} coded); p50 {report.latency_ms.get('p50', 0)} ms")
    print_notices(kb)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("conformance", help="score a conformance suite (JSON lines: id, rule, text, gold)")
    add_common_options(p)
    add_pipeline_options(p)
    p.add_argument("suite", type=Path, help="e.g. tests/conformance/en.jsonl")
    p.add_argument("--json", action="store_true", help='print {"micro": {...}, "families": {...}, "notes": [...]}')
    p.set_defaults(func=cmd_conformance)

    p = sub.add_parser("code", help="code one note (a UTF-8 text file, or - for stdin)")
    add_common_options(p)
    add_pipeline_options(p)
    p.add_argument("note")
    p.add_argument("--json", action="store_true", help="print the full result with the per-step trace")
    p.set_defaults(func=cmd_code)
