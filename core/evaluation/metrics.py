"""Coding metrics: pure functions over {case_id: codes} mappings, no I/O.

Conventions shared by every function here:

- Codes are compared as :func:`~core.datasets.codiesp.scorer_key` spells them (lower-case and stripped, e.g. ``n44.8``); dots are kept, so ``N448``
  and ``n44.8`` differ, as in the official scorer. ``level="category"`` compares the first three characters
  ignoring the dot (``n44.8`` -> ``n44``).
- Cases are the union of the gold and predicted keys; a case missing on one side has no codes there.
- A ratio whose denominator is 0 is reported as 0.0 (never NaN), so results serialise to JSON cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from core.datasets.codiesp import scorer_key

Level = Literal["full", "category"]
Gold = Mapping[str, Iterable[str]]

#: Standard ICD-10-CM chapters: (chapter, first category, last category, title).
ICD10CM_CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("1", "A00", "B99", "Certain infectious and parasitic diseases"),
    ("2", "C00", "D49", "Neoplasms"),
    ("3", "D50", "D89", "Diseases of the blood and immune mechanism"),
    ("4", "E00", "E89", "Endocrine, nutritional and metabolic diseases"),
    ("5", "F01", "F99", "Mental, behavioral and neurodevelopmental disorders"),
    ("6", "G00", "G99", "Diseases of the nervous system"),
    ("7", "H00", "H59", "Diseases of the eye and adnexa"),
    ("8", "H60", "H95", "Diseases of the ear and mastoid process"),
    ("9", "I00", "I99", "Diseases of the circulatory system"),
    ("10", "J00", "J99", "Diseases of the respiratory system"),
    ("11", "K00", "K95", "Diseases of the digestive system"),
    ("12", "L00", "L99", "Diseases of the skin and subcutaneous tissue"),
    ("13", "M00", "M99", "Diseases of the musculoskeletal system and connective tissue"),
    ("14", "N00", "N99", "Diseases of the genitourinary system"),
    ("15", "O00", "O9A", "Pregnancy, childbirth and the puerperium"),
    ("16", "P00", "P96", "Certain conditions originating in the perinatal period"),
    ("17", "Q00", "Q99", "Congenital malformations and chromosomal abnormalities"),
    ("18", "R00", "R99", "Symptoms, signs and abnormal findings, not elsewhere classified"),
    ("19", "S00", "T88", "Injury, poisoning and certain other consequences of external causes"),
    ("20", "V00", "Y99", "External causes of morbidity"),
    ("21", "Z00", "Z99", "Factors influencing health status and contact with health services"),
    ("22", "U00", "U85", "Codes for special purposes"),
)
CHAPTER_TITLES: dict[str, str] = {number: title for number, _, _, title in ICD10CM_CHAPTERS}
UNKNOWN_CHAPTER = "?"


# --------------------------------------------------------------------------- helpers


def category(code: str) -> str:
    """ICD-10 category: first three characters, ignoring the dot, lower-case (``N44.8`` -> ``n44``)."""
    return scorer_key(code).replace(".", "")[:3]


def _key(level: Level) -> Callable[[str], str]:
    if level == "full":
        return scorer_key
    if level == "category":
        return category
    raise ValueError(f"level must be 'full' or 'category', got {level!r}")


def _sets(data: Gold, level: Level = "full") -> dict[str, set[str]]:
    key = _key(level)
    return {case: {key(c) for c in codes if c and c.strip()} for case, codes in data.items()}


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def _pairs(data: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(case, code) for case, codes in data.items() for code in codes}


def chapter_of(code: str) -> str:
    """ICD-10-CM chapter number ("1".."22") from the category range; ``"?"`` when it fits none.

    A letter in the third position (``C4A``, ``D3A``, ``O9A``, ``M1A``, ``Z3A``) sorts after the digits, so
    ``O9A`` falls in chapter 15 and ``D3A`` in chapter 2. Not meaningful for ICD-10-PCS procedure codes.
    """
    cat = category(code).upper()
    if len(cat) < 3 or not cat[0].isalpha() or not cat[1].isdigit() or not cat[2].isalnum():
        return UNKNOWN_CHAPTER
    for number, first, last, _ in ICD10CM_CHAPTERS:
        if first <= cat <= last:  # digits sort before letters in ASCII, so "O9A" > "O99"
            return number
    return UNKNOWN_CHAPTER


def _chapter_sort(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**6, key)


# --------------------------------------------------------------------------- set metrics


def prf(gold: Gold, pred: Gold, level: Level = "full") -> dict[str, Any]:
    """Micro precision / recall / F1 over distinct (case, code) pairs, with tp / fp / fn counts."""
    g, p = _pairs(_sets(gold, level)), _pairs(_sets(pred, level))
    tp, fp, fn = len(g & p), len(p - g), len(g - p)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "tp": tp, "fp": fp, "fn": fn}


def per_code_counts(gold: Gold, pred: Gold, level: Level = "full") -> dict[str, dict[str, int]]:
    """{code: {"tp", "fp", "fn"}} for every code in gold or pred."""
    g, p = _pairs(_sets(gold, level)), _pairs(_sets(pred, level))
    counts: dict[str, dict[str, int]] = {}
    for pairs, name in ((g & p, "tp"), (p - g, "fp"), (g - p, "fn")):
        for _, code in pairs:
            counts.setdefault(code, {"tp": 0, "fp": 0, "fn": 0})[name] += 1
    return dict(sorted(counts.items()))


def macro_prf(gold: Gold, pred: Gold, level: Level = "full") -> dict[str, Any]:
    """Per-code P/R/F1 averaged with equal weight over every code seen in gold OR pred.

    A code never predicted has P = 0; a code never in gold has R = 0 (scikit-learn's ``zero_division=0``), so
    spurious codes pull the average down. ``f1`` is the mean of per-code F1s (not the F1 of mean P and R).
    """
    counts = per_code_counts(gold, pred, level)
    if not counts:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_codes": 0}
    ps, rs, fs = [], [], []
    for c in counts.values():
        precision, recall = _ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"])
        ps.append(precision)
        rs.append(recall)
        fs.append(_f1(precision, recall))
    n = len(counts)
    return {"precision": sum(ps) / n, "recall": sum(rs) / n, "f1": sum(fs) / n, "n_codes": n}


def exact_match_ratio(gold: Gold, pred: Gold, level: Level = "full") -> float:
    """Share of cases whose predicted code set equals the gold set exactly."""
    g, p = _sets(gold, level), _sets(pred, level)
    cases = set(g) | set(p)
    return _ratio(sum(g.get(c, set()) == p.get(c, set()) for c in cases), len(cases))


# --------------------------------------------------------------------------- ranking (official CodiEsp D/P metric)


def _clean_ranking(codes: Iterable[str], valid: set[str] | None, level: Level) -> list[str]:
    """Lower-case, drop duplicates keeping the first, drop codes outside ``valid``; at category level, map the
    surviving codes to categories and drop duplicates again keeping the first."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in codes:
        code = scorer_key(raw)
        if not code or code in seen:
            continue
        seen.add(code)
        if valid is None or code in valid:
            out.append(code)
    if level == "category":
        out = list(dict.fromkeys(category(c) for c in out))
    return out


def average_precision(gold: Iterable[str], ranked: Sequence[str]) -> float:
    """Sum of precision@k at each rank k holding a gold code, divided by the number of gold codes."""
    relevant = set(gold)
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for k, code in enumerate(ranked, start=1):
        if code in relevant:
            hits += 1
            total += hits / k
    return total / len(relevant)


def mean_average_precision(
    gold: Gold,
    ranked: Mapping[str, Sequence[str]],
    valid_codes: set[str] | None = None,
    level: Level = "full",
    depth: int = 1000,
) -> float:
    """MAP as the official CodiEsp D/P scorer computes it (trectools ``get_map(trec_eval=False)``).

    Per case: lower-case predictions, drop duplicates keeping the first, drop codes not in ``valid_codes`` (when
    given); the remaining order is the rank (cut at ``depth``, 1000 in the scorer). AP = sum of precision@k at each
    hit / number of distinct gold codes of the case. The mean is over cases with at least one valid prediction
    (trectools also needs the case in the gold file; a predicted case with no gold codes is left out, which never
    happens on CodiEsp where every case has gold). Gold codes are lower-cased and de-duplicated, never filtered.
    """
    key = _key(level)
    valid = {scorer_key(c) for c in valid_codes} if valid_codes is not None else None
    gold_sets = {case: {key(c) for c in codes if c and c.strip()} for case, codes in gold.items()}
    scores = []
    for case, codes in ranked.items():
        clean = _clean_ranking(codes, valid, level)[:depth]
        if not clean or not gold_sets.get(case):
            continue
        scores.append(average_precision(gold_sets[case], clean))
    return _ratio(sum(scores), len(scores))


def category_map(gold: Gold, ranked: Mapping[str, Sequence[str]], valid_codes: set[str] | None = None) -> float:
    """MAP at category level: codes converted to categories, then duplicates dropped keeping the first."""
    return mean_average_precision(gold, ranked, valid_codes, level="category")


# --------------------------------------------------------------------------- spans (official CodiEsp-X metric)


def _span_tuple(item: Any) -> tuple[str, str, int, int]:
    if isinstance(item, tuple | list):
        case_id, code, start, end = item
    else:
        case_id, code, start, end = item.case_id, item.code, item.start, item.end
    return str(case_id), scorer_key(code), int(start), int(end)


def span_prf(
    gold_x: Iterable[Any],
    pred_x: Iterable[Any],
    tolerance: int = 10,
    valid_codes: set[str] | None = None,
) -> dict[str, Any]:
    """CodiEsp-X micro P/R/F1, following the official ``codiespX_evaluation.py``.

    ``gold_x``: objects with ``case_id, code, start, end`` (e.g. :class:`core.datasets.codiesp.GoldSpan`, whose
    start/end are the first fragment's start and the last fragment's end) or 4-tuples; ``pred_x``: 4-tuples
    ``(case_id, code, start, end)``. A gold (case, code) is a TP when some predicted interval with the same case
    and code satisfies ``0 <= gold.start - pred.start <= tolerance`` and ``0 <= pred.end - gold.end <= tolerance``
    against ANY of its gold references (several references of one code count once). P = TP / distinct predicted
    (case, code); R = TP / distinct gold (case, code). Codes are lower-cased on both sides (the official script
    lower-cases only the gold, and drops upper-case predictions through its valid-code filter).
    """
    valid = {scorer_key(c) for c in valid_codes} if valid_codes is not None else None
    gold_rows = [_span_tuple(g) for g in gold_x]
    pred_rows = [p for p in map(_span_tuple, pred_x) if valid is None or p[1] in valid]
    by_pair: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for case_id, code, start, end in pred_rows:
        by_pair.setdefault((case_id, code), []).append((start, end))
    gold_pairs = {(c, k) for c, k, _, _ in gold_rows}
    hits: set[tuple[str, str]] = set()
    for case_id, code, g_start, g_end in gold_rows:
        for p_start, p_end in by_pair.get((case_id, code), []):
            if 0 <= g_start - p_start <= tolerance and 0 <= p_end - g_end <= tolerance:
                hits.add((case_id, code))
                break
    tp, n_pred, n_gold = len(hits), len(by_pair), len(gold_pairs)
    precision, recall = _ratio(tp, n_pred), _ratio(tp, n_gold)
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "tp": tp,
        "n_pred": n_pred,
        "n_gold": n_gold,
    }


# --------------------------------------------------------------------------- breakdowns


def recall_by_chapter(
    gold: Gold, pred: Gold, chapter_of: Callable[[str], str] = chapter_of
) -> dict[str, dict[str, Any]]:
    """{chapter: {"gold", "tp", "recall"}} over distinct gold (case, code) pairs, chapters in numeric order."""
    g, p = _sets(gold), _sets(pred)
    out: dict[str, dict[str, Any]] = {}
    for case, codes in g.items():
        for code in codes:
            row = out.setdefault(chapter_of(code), {"gold": 0, "tp": 0, "recall": 0.0})
            row["gold"] += 1
            row["tp"] += code in p.get(case, set())
    for row in out.values():
        row["recall"] = _ratio(row["tp"], row["gold"])
    return {k: out[k] for k in sorted(out, key=_chapter_sort)}


def seen_unseen(gold: Gold, pred: Gold, train_codes: set[str]) -> dict[str, dict[str, Any]]:
    """P/R/F1 split by whether the code occurs in the training gold.

    Recall of "seen" is over gold pairs whose code is in ``train_codes``, precision over predicted pairs whose
    code is in ``train_codes``; likewise for "unseen" with codes outside it. Full-code level.
    """
    train = {scorer_key(c) for c in train_codes}
    g, p = _pairs(_sets(gold)), _pairs(_sets(pred))
    out: dict[str, dict[str, Any]] = {}
    for name, keep in (("seen", True), ("unseen", False)):
        g_part = {pair for pair in g if (pair[1] in train) is keep}
        p_part = {pair for pair in p if (pair[1] in train) is keep}
        precision = _ratio(len(p_part & g), len(p_part))
        recall = _ratio(len(g_part & p), len(g_part))
        out[name] = {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "n_gold": len(g_part),
            "n_pred": len(p_part),
            "tp_gold": len(g_part & p),
            "tp_pred": len(p_part & g),
        }
    return out


def step_recall(gold: Gold, per_step: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[str, float]:
    """For each step (in the given order), the share of gold (case, code) pairs present in that step's output.

    The CLH per-agent table: how much of the gold survives each step. A case with no record for a step counts as
    an empty output there, so every step shares the same denominator (all gold pairs).
    """
    g = _pairs(_sets(gold))
    out: dict[str, float] = {}
    for step, outputs in per_step.items():
        kept = _pairs(_sets(outputs))
        out[step] = _ratio(len(g & kept), len(g))
    return out


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p95 (linear interpolation, like numpy's default), mean and max; zeros when there are no values."""
    values = sorted(float(v) for v in values_ms)
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "n": len(values),
        "p50": _percentile(values, 50),
        "p95": _percentile(values, 95),
        "mean": sum(values) / len(values),
        "max": values[-1],
    }


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def value_at(metrics: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a nested metrics dict (``("micro", "f1")``), or None where a key is missing."""
    data: Any = metrics
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data
