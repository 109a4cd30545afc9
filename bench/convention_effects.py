"""What each convention does to CodiEsp agreement: per rule of the conventions step, how often its change agrees
with the gold ("helps": a code it removed is not in the gold, a code it added or coded is) and how often not.

Codes each case with the ranker strategy and no LLM, learning from train only, and reads the conventions step's
trace. Most "hurts" are CodiEsp's own habits (bench/convention_disagreements.py counts them); the rest are leads.

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/convention_effects.py [--lang es] [--split dev] [--limit N]
       [--examples 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.kb.knowledge import get_knowledge  # noqa: E402
from core.rules.worklist import STEP  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.strategies.runner import code_note  # noqa: E402

REMOVING = ("absorbed", "not coded")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="es")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--examples", type=int, default=3, help="cases shown per rule where it disagrees")
    args = parser.parse_args()
    settings = load_settings(language=args.lang, backend="none", embedding_model="none", strategy="ranker")
    kb = get_knowledge(settings)
    cases = kb.load_cases(settings.data_dir / settings.codiesp_dir, args.split, args.lang)
    cases = cases[: args.limit] if args.limit else cases
    helps: Counter[tuple[str, str]] = Counter()
    hurts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    started = time.perf_counter()
    for case in cases:
        result = code_note(case.text, settings, kb=kb, splits=("train",))
        gold = {code.upper() for code in case.gold_d}
        trace = next((t for t in result.trace if t.step == STEP), None)
        for row in trace.candidates if trace else []:
            key = (row["action"], row["rule"])
            agrees = (row["code"] not in gold) if row["action"] in REMOVING else (row["code"] in gold)
            (helps if agrees else hurts)[key] += 1
            if not agrees and len(examples[key]) < args.examples:
                examples[key].append(f"{case.case_id}: {row['code']} {row.get('by', '')} {row['why'][:70]}")
    print(f"{len(cases)} {args.lang} {args.split} cases in {time.perf_counter() - started:.0f} s")
    print(f"{'action':<12}{'rule':<28}{'helps':>7}{'hurts':>7}")
    for key in sorted(set(helps) | set(hurts), key=lambda k: -(helps[k] + hurts[k])):
        print(f"{key[0]:<12}{key[1]:<28}{helps[key]:>7}{hurts[key]:>7}")
    for key, rows in examples.items():
        print(f"\n{key[0]} / {key[1]}, where the gold disagrees:")
        print("\n".join(f"  {row}" for row in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
