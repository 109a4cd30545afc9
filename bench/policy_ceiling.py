"""How much of CodiEsp's gold standard the product's assertion policy can ever code, and how an evaluation run scores
on the part it can.

CodiEsp's annotators coded negated findings; the product lists them for review and never codes them. For each gold
code of the evaluated split, every gold span is classified with the product's assertion detector; a gold code whose
spans are all negated / family / hypothetical is one the product's policy never codes. Prints the share of such gold
codes (the recall ceiling) and the run's full-code P / R / F1 on all gold codes and on the codable ones only.

    .venv/bin/python -m core evaluate --split dev --backend none --lang es --strategy ranker --out RUN
    .venv/bin/python bench/policy_ceiling.py RUN
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.kb.knowledge import get_knowledge  # noqa: E402
from core.nlp.assertion import AssertionDetector, never_coded  # noqa: E402
from core.settings import load_settings  # noqa: E402


def f1(tp: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision, recall = tp / max(predicted, 1), tp / max(gold, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="an evaluation run folder (holds predictions.jsonl)")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--data", type=Path, help="CodiEsp folder (default data_dir/codiesp)")
    args = parser.parse_args()
    settings = load_settings()
    data = args.data or settings.data_dir / settings.codiesp_dir
    predictions = {}
    with (args.run / "predictions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            predictions[record["case_id"]] = set(record["codes"])
    gold_total = uncodable = tp = tp_uncodable = 0
    # Gold spans are offsets into the Spanish text, so the assertions are read there (an English run's
    # predictions are scored against the same gold codes).
    settings_file = args.run / "settings.json"
    run_settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    # The gold read as the run was scored: moved to the tabular list's edition, or as written (older runs).
    for case in get_knowledge(settings).load_cases(data, args.split, "es", run_settings.get("gold_codes")):
        if case.case_id not in predictions:
            continue
        detector = AssertionDetector(case.text, "es")
        assertions: dict[str, list[str]] = defaultdict(list)
        for span in case.gold_spans("D"):
            assertions[span.code.upper()].append(detector.classify(*span.bounds)[0])
        for code in {g.upper() for g in case.gold("D")}:
            hit = code in predictions[case.case_id]
            gold_total, tp = gold_total + 1, tp + hit
            if assertions.get(code) and never_coded(assertions[code]):
                uncodable, tp_uncodable = uncodable + 1, tp_uncodable + hit
    predicted = sum(len(codes) for codes in predictions.values())
    print(f"gold codes {gold_total}; only in negated / family / hypothetical mentions {uncodable} "
          f"({uncodable / max(gold_total, 1):.1%}); recall ceiling under the product's policy "
          f"{1 - uncodable / max(gold_total, 1):.3f}")
    print("all gold:      P {:.4f}  R {:.4f}  F1 {:.4f}".format(*f1(tp, predicted, gold_total)))
    print("codable gold:  P {:.4f}  R {:.4f}  F1 {:.4f}".format(*f1(tp - tp_uncodable, predicted, gold_total - uncodable)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
