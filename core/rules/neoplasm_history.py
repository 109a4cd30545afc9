"""History of a malignant neoplasm, the patient's (Z85) or a relative's (Z80), by the site of the malignancy.

The alphabetical index lists only a few sites under "History, family > malignant neoplasm" (breast, bladder,
"digestive organ" ...), so "father had colon cancer" would stop at the unspecified Z80.9 although a coder knows that
the colon is a digestive organ (Z80.0). The tabular list says it for every category: Z80.0 includes "Conditions
classifiable to C15-C26", Z85.038 "Conditions classifiable to C18". The history code of a malignancy is the code whose
"classifiable to" range is the narrowest that holds the malignancy's own code (I.C.2.d, I.C.21.c.4).
"""

from __future__ import annotations

import re

from core.kb.tabular import Tabular

ROOTS = {"family": "Z80", "personal": "Z85"}
_CLASSIFIABLE = re.compile(r"conditions classifiable to (.+)", re.IGNORECASE)
_GENERIC = {"family", "personal", "history", "of", "malignant", "neoplasm", "neoplasms", "and", "other", "the",
            "unspecified", "site", "sites", "part", "organ", "organs"}


def is_primary_malignancy(code: str) -> bool:
    """C00–C96 less the secondary sites (C77–C79) and the neuroendocrine secondaries (C7B): codes a history of
    malignancy is classified by."""
    return code[:1] == "C" and not ("C77" <= code[:3] <= "C79") and not code.startswith("C7B")


def malignancy_history_code(kind: str, code: str, tabular: Tabular) -> str:
    """The billable Z80 / Z85 code for a malignancy coded ``code``; "" when the tabular list names none."""
    root = ROOTS.get(kind)
    if root is None or not is_primary_malignancy(code):
        return ""
    covering = [(width, depth, target) for target, width, depth in _ranges(tabular, root) if _covers(width, code)]
    if not covering:
        return ""
    _, _, target = min(covering, key=lambda c: (_span(c[0]), -c[1]))
    if tabular.is_billable(target):
        return target
    return _by_site_words(target, code, tabular)


def _by_site_words(target: str, code: str, tabular: Tabular) -> str:
    """Below a category the tabular list splits by organ without ranges (Z80.4 → Z80.41 ovary, Z80.42 prostate), the
    child that names the malignancy's organ, else the "other" child."""
    own = _site_words(tabular.description(code))
    children = tabular.billable_descendants(target)
    overlap = {c: len(own & _site_words(tabular.description(c))) for c in children}
    named = max(children, key=lambda c: overlap[c], default="")
    if named and overlap[named]:
        return named
    return tabular.default_code(target) or (children[-1] if children else "")


def _site_words(title: str) -> set[str]:
    return set(re.findall(r"[a-z]+", title.lower())) - _GENERIC


_RANGES: dict[tuple[int, str], tuple[tuple[str, tuple[str, ...], int], ...]] = {}


def _read_ranges(tabular: Tabular, root: str) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    found: list[tuple[str, tuple[str, ...], int]] = []
    for target in [root, *tabular.descendants(root)]:
        item = tabular.get(target)
        if item is None:
            continue
        for term in item.notes.inclusion_terms:
            if m := _CLASSIFIABLE.match(term.strip()):
                parts = tuple(p.strip().rstrip(".-").rstrip(".") for p in m.group(1).split(","))
                found.append((target, parts, len(target)))
    return tuple(found)


def _ranges(tabular: Tabular, root: str) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    """(history code, its "classifiable to" ranges, its depth) below ``root``, read once per tabular list."""
    key = (id(tabular), root)
    if key not in _RANGES:
        _RANGES[key] = _read_ranges(tabular, root)
    return _RANGES[key]


def _covers(ranges: tuple[str, ...], code: str) -> bool:
    return any(_in_range(part, code) for part in ranges)


def _in_range(part: str, code: str) -> bool:
    """``C15-C26`` holds C18.7 (by category); ``C50`` holds C50.412; ``C7A.0`` holds C7A.012."""
    if "-" in part:
        low, high = (p.strip() for p in part.split("-", 1))
        return low[:3] <= code[:3] <= high[:3]
    return code.startswith(part)


def _span(ranges: tuple[str, ...]) -> int:
    """How many categories the ranges hold: the narrowest range is the most specific history code."""
    total = 0
    for part in ranges:
        if "-" in part:
            low, high = (p.strip() for p in part.split("-", 1))
            total += _category_number(high) - _category_number(low) + 1
        else:
            total += 1
    return total


def _category_number(code: str) -> int:
    digits = re.sub(r"\D", "", code[1:3]) or "0"
    return int(digits)
