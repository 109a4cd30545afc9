"""How often CodiEsp's gold codes disagree with the conventions the reconciler applies (issue: report both figures).

Reads only the gold (moved to the tabular list's edition, as evaluations score it) and counts the cases whose codes a
coder following ICD-10-CM would not report together:
- an unspecified code next to a specific code of the same condition (I50.9 with I50.23, E11.9 with E11.22);
- both codes of an Excludes1 pair;
- hypertension I10 next to CKD N18 or heart failure I50 (the index combines them: I12 / I11 / I13);
- a symptom next to a diagnosis it is a routine part of (data/conventions/symptoms.toml).

Usage: .venv/bin/python bench/convention_disagreements.py [--split dev] [--lang es]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.candidates.navigator import is_vague  # noqa: E402
from core.kb.knowledge import get_knowledge  # noqa: E402
from core.rules.history import _integral  # noqa: E402
from core.rules.worklist import covers, references, title_words  # noqa: E402
from core.settings import load_settings  # noqa: E402

CORE_FILLERS = {"unspecifi", "unspecified", "other", "specifi", "site", "type", "organ"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--lang", default="es")
    args = parser.parse_args()
    settings = load_settings(language=args.lang, backend="none", embedding_model="none")
    kb = get_knowledge(settings)
    tabular = kb.tabular
    cases = kb.load_cases(settings.data_dir / settings.codiesp_dir, args.split, args.lang)
    counts: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for case in cases:
        gold = sorted({code.upper() for code in case.gold_d if tabular.exists(code)})
        found: set[str] = set()
        for vague in gold:
            if not is_vague(vague, tabular):
                continue
            core = title_words(tabular.description(vague)) - CORE_FILLERS
            for other in gold:
                if other != vague and other[:3] == vague[:3] and not is_vague(other, tabular) and core and (
                        core <= title_words(tabular.description(other))):
                    found.add("unspecified next to specific")
                    pairs[f"{vague} + {other}"] += 1
        for code in gold:
            refs = references(tabular.inherited_notes(code).excludes1)
            for other in gold:
                if other != code and any(covers(ref, other) for ref in refs):
                    found.add("Excludes1 pair")
                    pairs[f"Excludes1 {code} + {other}"] += 1
        if "I10" in gold and any(c.startswith(("N18", "I50")) for c in gold):
            found.add("I10 next to N18 or I50")
        for diagnoses, symptoms in _integral():
            if any(c.startswith(tuple(symptoms)) for c in gold) and any(c.startswith(tuple(diagnoses)) for c in gold):
                found.add("symptom next to its diagnosis")
        counts.update(found)
        if found:
            counts["any of these"] += 1
    total = len(cases)
    print(f"CodiEsp {args.split} ({args.lang}), {total} cases, gold in the tabular list's edition")
    for name in ("unspecified next to specific", "Excludes1 pair", "I10 next to N18 or I50",
                 "symptom next to its diagnosis", "any of these"):
        print(f"  {name:<32} {counts[name]:>4} cases ({counts[name] / max(total, 1):.1%})")
    print("  most frequent pairs: " + "; ".join(f"{pair} ×{n}" for pair, n in pairs.most_common(12)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
