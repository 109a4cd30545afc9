"""What an ideal language model could reach through the CLH steps: a stand-in model that always picks the
gold-consistent IDs among what it was shown, next to the deterministic path, with the candidate recall after each step.

The oracle reads the numbered options of each prompt (``ID: n | code | term``) and answers the IDs whose code is a
gold code of the case (an evidence prompt gets the case's gold evidence spans). It cannot propose a code it was not
shown, so its F1 is the ceiling of the steps' candidates, not of coding.

Usage: .venv/bin/python bench/clh_oracle.py [--lang es] [--split dev] [--limit 50]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.metrics import prf  # noqa: E402
from core.kb.knowledge import get_knowledge  # noqa: E402
from core.llm.base import LLMBackend, LLMResponse  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.strategies.runner import code_note  # noqa: E402

OPTION = re.compile(r"^ID:\s*(\d+)\s*\|\s*([A-Z0-9.]+)\s*\|", re.MULTILINE)


class OracleBackend(LLMBackend):
    """Answers every ID prompt with the options whose code is gold, and every evidence prompt with gold spans."""

    name = "oracle"
    model = "gold-oracle"
    supports_concurrency = False
    structured_answers = False

    def __init__(self, gold: set[str], spans: list[str]) -> None:
        self.gold, self.spans = gold, spans

    def complete(self, prompt: str, *, system: str | None = None, json_schema: dict | None = None,
                 max_tokens: int | None = None, stop: list[str] | None = None) -> LLMResponse:
        if json_schema and "snippets" in json.dumps(json_schema):
            text = json.dumps({"snippets": [s for s in self.spans if s in prompt][:20]})
        else:
            ids = [int(n) for n, code in OPTION.findall(prompt) if code in self.gold]
            text = f"<answer>{', '.join(map(str, ids)) or '0'}</answer>"
        return LLMResponse(text=text, model=self.model, backend=self.name, duration_ms=0.0)

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "model": self.model, "params": {}}

    def check(self) -> tuple[bool, str]:
        return True, "oracle"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="es")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    base = load_settings(language=args.lang, backend="none", embedding_model="none")
    kb = get_knowledge(base)
    cases = kb.load_cases(base.data_dir / base.codiesp_dir, args.split, args.lang)[: args.limit]
    train = tuple(s for s in kb.labelled_splits() if s != args.split)
    runs = {"deterministic (default path)": base.with_overrides(strategy="clh"),
            "CLH steps, oracle model": base.with_overrides(strategy="clh", backend="openai")}
    for label, settings in runs.items():
        predictions, gold, started = {}, {}, time.perf_counter()
        step_hits: dict[str, int] = {}
        for case in cases:
            codes = {c.upper() for c in case.gold_d}
            backend = None
            if settings.backend != "none":
                backend = OracleBackend(codes, [g.text for g in case.gold_x if g.kind == "DIAGNOSTICO"])
            result = code_note(case.text, settings, kb=kb, splits=train, backend=backend)
            predictions[case.case_id] = [c.code for c in result.codes]
            gold[case.case_id] = sorted(codes)
            for step in result.trace:
                reached = set(step.output_codes) | {c if isinstance(c, str) else c.get("code", "")
                                                   for c in step.candidates if isinstance(c, str | dict)}
                step_hits[step.step] = step_hits.get(step.step, 0) + len(codes & reached)
        micro = prf({k: set(v) for k, v in gold.items()}, {k: set(v) for k, v in predictions.items()})
        total = sum(len(g) for g in gold.values())
        recall = {step: round(hits / max(total, 1), 3) for step, hits in step_hits.items()}
        print(f"{label}: F1 {micro['f1']:.4f} (P {micro['precision']:.3f}, "
              f"R {micro['recall']:.3f}) over {len(cases)} {args.split} cases, "
              f"{time.perf_counter() - started:.0f} s; candidate recall after each step: {recall}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
