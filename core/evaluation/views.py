"""Tables and chart data built from run folders for the Evaluation page (pandas, no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.datasets.codiesp import TASK_KIND, Case, scorer_key
from core.evaluation.metrics import CHAPTER_TITLES
from core.evaluation.runs import FALSE_POSITIVE, MISS, TRUE_POSITIVE, LoadedRun, headline_metrics

# --------------------------------------------------------------------------- comparing


def compare_runs(a: LoadedRun, b: LoadedRun, labels: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Headline metrics (then per-step recall) of two runs side by side: ``metric, <A>, <B>, delta`` (B - A).

    A metric only one run has keeps its value and gets no delta.
    """
    label_a, label_b = labels
    if label_a == label_b:
        label_a, label_b = f"{label_a} (1)", f"{label_b} (2)"
    values_a, values_b = headline_metrics(a.metrics), headline_metrics(b.metrics)
    steps_a, steps_b = a.metrics.get("step_recall") or {}, b.metrics.get("step_recall") or {}
    for step in dict.fromkeys([*steps_a, *steps_b]):
        values_a[f"step recall: {step}"] = steps_a.get(step)
        values_b[f"step recall: {step}"] = steps_b.get(step)
    rows = []
    for metric in values_a:
        va, vb = values_a[metric], values_b[metric]
        if va is None and vb is None:
            continue
        delta = vb - va if va is not None and vb is not None else None
        rows.append({"metric": metric, label_a: va, label_b: vb, "delta": delta})
    return pd.DataFrame(rows, columns=["metric", label_a, label_b, "delta"])


# --------------------------------------------------------------------------- one case


@dataclass(frozen=True)
class EvidenceSpan:
    start: int
    end: int
    text: str


@dataclass
class CaseCodeRow:
    code: str  # lower-case, CodiEsp spelling
    outcome: str  # TRUE_POSITIVE | FALSE_POSITIVE | MISS
    rank: int | None  # 1-based position in the run's ranked list (codes then candidates); None if absent
    candidate: bool  # the run listed it as a candidate (not a confident code)
    gold_spans: list[EvidenceSpan] = field(default_factory=list)  # fragments of the gold X rows (Spanish text)
    predicted_spans: list[EvidenceSpan] = field(default_factory=list)


def case_view(run: LoadedRun, case: Case, task: str | None = None) -> list[CaseCodeRow]:
    """Gold vs predicted codes of one case: true positives, false positives, then misses.

    Predicted = the run's confident codes (what P/R/F1 score). A miss that the run listed as a candidate has
    ``candidate=True``. Gold spans are the fragments of the case's gold X rows for the task's kind; their offsets
    refer to the Spanish text.
    """
    task = task or run.task
    record = run.predictions.get(case.case_id, {})
    gold = list(dict.fromkeys(scorer_key(c) for c in case.gold(task)))
    predicted = list(dict.fromkeys(scorer_key(c) for c in record.get("codes", [])))
    candidates = {scorer_key(c) for c in record.get("candidates", [])}
    ranks: dict[str, int] = {}
    for position, code in enumerate(record.get("ranked", []), start=1):
        ranks.setdefault(scorer_key(code), position)
    kind = TASK_KIND[task]
    gold_spans: dict[str, list[EvidenceSpan]] = {}
    for row in case.gold_x:
        if row.kind != kind:
            continue
        fragments = gold_spans.setdefault(scorer_key(row.code), [])
        for start, end in row.spans:
            text = case.text[start:end] if case.language == "es" and 0 <= start < end <= len(case.text) else row.text
            fragments.append(EvidenceSpan(start, end, text))
    predicted_spans: dict[str, list[EvidenceSpan]] = {}
    for span in record.get("spans", []):
        predicted_spans.setdefault(scorer_key(span["code"]), []).append(
            EvidenceSpan(int(span["start"]), int(span["end"]), str(span.get("text", "")))
        )

    def row(code: str, outcome: str) -> CaseCodeRow:
        return CaseCodeRow(code, outcome, ranks.get(code), code in candidates and code not in predicted,
                           gold_spans.get(code, []), predicted_spans.get(code, []))

    gold_set, predicted_set = set(gold), set(predicted)
    rows = [row(c, TRUE_POSITIVE) for c in predicted if c in gold_set]
    rows += [row(c, FALSE_POSITIVE) for c in predicted if c not in gold_set]
    rows += [row(c, MISS) for c in gold if c not in predicted_set]
    return rows


def case_view_frame(rows: list[CaseCodeRow], describe: Any = None) -> pd.DataFrame:
    """The rows of :func:`case_view` as a table; ``describe(code) -> str`` adds a description column."""
    def spans(items: list[EvidenceSpan]) -> str:
        return "; ".join(f"{s.start}-{s.end} {s.text!r}" for s in items)

    data = [
        {
            "code": r.code,
            "outcome": r.outcome + (" (candidate)" if r.candidate else ""),
            "description": describe(r.code) if describe else "",
            "rank": r.rank,
            "gold evidence": spans(r.gold_spans),
            "predicted evidence": spans(r.predicted_spans),
        }
        for r in rows
    ]
    frame = pd.DataFrame(data, columns=["code", "outcome", "description", "rank", "gold evidence", "predicted evidence"])
    frame["rank"] = frame["rank"].astype("Int64")  # blank, not None, for codes the run never ranked
    return frame if describe else frame.drop(columns=["description"])


@dataclass(frozen=True)
class EvidenceMark:
    start: int
    end: int
    outcome: str
    code: str
    side: str  # "gold" | "predicted"


def evidence_marks(rows: list[CaseCodeRow], text_length: int, *, gold_offsets_valid: bool = True) -> list[EvidenceMark]:
    """Character ranges to highlight in the note: predicted evidence of TP / FP codes and gold evidence of TP /
    missed codes, clipped to the text. ``gold_offsets_valid=False`` (English text: gold offsets refer to the
    Spanish original) leaves gold evidence out."""
    marks: list[EvidenceMark] = []
    for row in rows:
        sides = [("predicted", row.predicted_spans)]
        if gold_offsets_valid:
            sides.append(("gold", row.gold_spans))
        for side, spans in sides:
            for span in spans:
                start, end = max(0, span.start), min(text_length, span.end)
                if start < end:
                    marks.append(EvidenceMark(start, end, row.outcome, row.code, side))
    return sorted(marks, key=lambda m: (m.start, m.end, m.code))


# --------------------------------------------------------------------------- chart data (long format for Altair)


def prf_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``average, level, measure, value``: micro and macro P/R/F1 at full-code and category level."""
    rows = []
    for average, level, key in (("micro", "full code", "micro"), ("micro", "category", "micro_category"),
                                ("macro", "full code", "macro"), ("macro", "category", "macro_category")):
        block = metrics.get(key) or {}
        for measure, name in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            if measure in block:
                rows.append({"average": average, "level": level, "measure": name, "value": float(block[measure])})
    return pd.DataFrame(rows, columns=["average", "level", "measure", "value"])


def step_recall_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``order, step, recall``: share of gold codes still present after each step, in pipeline order."""
    steps = metrics.get("step_recall") or {}
    rows = [{"order": i, "step": step, "recall": float(value)} for i, (step, value) in enumerate(steps.items())]
    return pd.DataFrame(rows, columns=["order", "step", "recall"])


def chapter_recall_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``chapter, title, gold, tp, recall`` in chapter order."""
    rows = [
        {"chapter": chapter, "title": CHAPTER_TITLES.get(chapter, "unknown chapter"), "gold": int(row.get("gold", 0)),
         "tp": int(row.get("tp", 0)), "recall": float(row.get("recall", 0.0))}
        for chapter, row in (metrics.get("recall_by_chapter") or {}).items()
    ]
    return pd.DataFrame(rows, columns=["chapter", "title", "gold", "tp", "recall"])


def seen_unseen_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``group, measure, value, n_gold, n_pred``: P/R/F1 of codes seen / unseen in the training splits."""
    rows = []
    for group, block in (metrics.get("seen_unseen") or {}).items():
        for measure, name in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            rows.append({"group": group, "measure": name, "value": float(block.get(measure, 0.0)),
                         "n_gold": int(block.get("n_gold", 0)), "n_pred": int(block.get("n_pred", 0))})
    return pd.DataFrame(rows, columns=["group", "measure", "value", "n_gold", "n_pred"])


def step_latency_frame(run: LoadedRun) -> pd.DataFrame:
    """``case_id, step, ms``: every case's duration per step, plus its end-to-end latency as step ``total``."""
    rows = []
    for case_id, record in run.predictions.items():
        for step, value in (record.get("step_ms") or {}).items():
            rows.append({"case_id": case_id, "step": step, "ms": float(value)})
        if record.get("latency_ms") is not None:
            rows.append({"case_id": case_id, "step": "total", "ms": float(record["latency_ms"])})
    return pd.DataFrame(rows, columns=["case_id", "step", "ms"])


def latency_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``step, n, p50, p95, mean, max`` (ms) per step, then end to end, and in how many cases each step fell back
    (its LLM answer was not used; absent from runs made before this was recorded)."""
    blocks = dict(metrics.get("step_latency_ms") or {})
    if metrics.get("latency_ms"):
        blocks["total"] = metrics["latency_ms"]
    fallbacks = metrics.get("fallback_cases")
    rows = [{"step": step, **{k: block.get(k) for k in ("n", "p50", "p95", "mean", "max")},
             "fell back": None if fallbacks is None or step == "total" else int(fallbacks.get(step, 0))}
            for step, block in blocks.items()]
    return pd.DataFrame(rows, columns=["step", "n", "p50", "p95", "mean", "max", "fell back"])
