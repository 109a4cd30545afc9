"""Status codes a coder reads from a number or a treatment rather than from a diagnosis term.

- Weeks of gestation, Z3A.08–Z3A.42: "38 semanas de gestación", "19,6 semanas de gestación" (Z3A.19), "semana 35
  de gestación", "24 weeks' gestation".
- Adult body-mass index, Z68.1–Z68.45: "IMC de 36" → Z68.36, "índice de masa corporal [IMC] 52" → Z68.43, "BMI 41"
  → Z68.41.
- Words from ``data/status_codes.toml`` in a sentence with their group's cue: long-term drug therapy, Z79.x ("en
  tratamiento con prednisona" → Z79.52), acquired absence after an operation, Z90.x ("histerectomía previa" →
  Z90.710), dependence on a machine, Z99.x ("en programa de hemodiálisis" → Z99.2).

They are ranker candidates (source ``status-rule``): the ranker learns from coded notes how often coders use them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.nlp.textnorm import strip_accents
from core.settings import PROJECT_ROOT

STATUS_SOURCE = "status-rule"
STATUS_FILE = PROJECT_ROOT / "data" / "status_codes.toml"

_WEEKS = {
    "es": (r"\b(?P<n>\d{1,2})(?:[.,]\d)?\s*(?:\+\s*\d\s*)?semanas?\s+de\s+(?:gestacion|embarazo|amenorrea|edad gestacional)",
           r"semana\s+(?P<n>\d{1,2})(?:[.,]\d)?\s+de\s+(?:gestacion|embarazo)",
           r"(?:gestacion|embarazo|edad gestacional|gestante|embarazada)\s+de\s+\b(?P<n>\d{1,2})(?:[.,]\d)?\s*(?:\+\s*\d\s*)?semanas"),
    "en": (r"\b(?P<n>\d{1,2})(?:[.,]\d)?\s*(?:\+\s*\d\s*)?weeks?'?\s+(?:of\s+)?(?:gestation|pregnancy|gestational age)",
           r"(?:gestation|pregnancy|gestational age)\s+of\s+(?P<n>\d{1,2})(?:[.,]\d)?\s+weeks",
           r"week\s+(?P<n>\d{1,2})\s+of\s+(?:gestation|pregnancy)",
           r"\b(?P<n>\d{1,2})(?:[.,]\d)?[\s-]*weeks?\s+pregnant"),
}
_BMI = {
    "es": r"\b(?:imc|indice\s+de\s+masa\s+corporal)\b(?:\s*[\[(]imc[\])])?(?:\s*(?:de|era|fue|en|:|=|>))*\s*(?P<v>\d{2}(?:[.,]\d+)?)",
    "en": r"\b(?:bmi|body\s+mass\s+index)\b(?:\s*[\[(]bmi[\])])?(?:\s*(?:of|was|is|:|=|>))*\s*(?P<v>\d{2}(?:[.,]\d+)?)",
}
_SENTENCE_END = re.compile(r"[;\n]|\.(?!\d)")  # not the point of "trough 6.2"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class StatusMatch:
    start: int
    end: int
    code: str


def _bmi_code(value: float) -> str:
    if value < 20:
        return "Z68.1"
    if value < 40:
        return f"Z68.{int(value)}"
    for limit, code in ((45, "Z68.41"), (50, "Z68.42"), (60, "Z68.43"), (70, "Z68.44")):
        if value < limit:
            return code
    return "Z68.45"


@dataclass(frozen=True)
class _Group:
    cue: re.Pattern[str]
    words: re.Pattern[str]
    codes: dict[str, str]  # folded word -> code
    code_cues: dict[str, re.Pattern[str]]  # code -> the stricter cue that replaces the group's for it
    # The first word of each of ``words``: a note without any of them has no match, and the long alternation need
    # not scan it (None when a word starts with a non-word character: always scanned).
    first_words: frozenset[str] | None


@lru_cache(maxsize=4)
def _groups(language: str, path: Path = STATUS_FILE) -> tuple[_Group, ...]:
    """The vocabulary's groups for ``language`` (none without the file)."""
    if not path.is_file():
        return ()
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    groups = []
    for group in table.values():
        cue = group.get("cue", {}).get(language)
        codes = {strip_accents(word.lower()): code for code, entry in group.get("codes", {}).items()
                 for word in entry.get(language, [])}
        code_cues = {code: re.compile(entry["cue"][language]) for code, entry in group.get("codes", {}).items()
                     if language in entry.get("cue", {})}
        if cue and codes:
            alternation = "|".join(re.escape(w) for w in sorted(codes, key=len, reverse=True))
            firsts = [_WORD.match(word) for word in codes]
            first_words = frozenset(m.group() for m in firsts if m) if all(firsts) else None
            groups.append(_Group(re.compile(cue), re.compile(rf"(?<!\w)(?:{alternation})(?!\w)"), codes, code_cues,
                                 first_words))
    return tuple(groups)


_ABBREVIATION_DOT = re.compile(r"\b(?:tto|trat|tx|rx)$")


def _sentence(folded: str, start: int, end: int) -> str:
    dot = folded.rfind(".", 0, start)
    while dot > 0 and (folded[dot + 1 : dot + 2].isdigit() or _ABBREVIATION_DOT.search(folded, max(0, dot - 5), dot)):
        dot = folded.rfind(".", 0, dot)  # "9.1 %", "en tto. con metformina": no sentence ends there
    left = max(dot, folded.rfind(";", 0, start), folded.rfind("\n", 0, start)) + 1
    right = _SENTENCE_END.search(folded, end)
    return folded[left : right.start() if right else len(folded)]


def status_matches(text: str, language: str) -> list[StatusMatch]:
    """Every status code the rules read in ``text``, with the offsets of the words they read it from."""
    folded = strip_accents(text.lower())  # same length as the text: offsets carry over
    if len(folded) != len(text):
        return []
    found: list[StatusMatch] = []
    for pattern in _WEEKS.get(language, ()):
        for match in re.finditer(pattern, folded):
            weeks = int(match.group("n"))
            overlaps = any(m.start < match.end() and match.start() < m.end for m in found)
            if 8 <= weeks <= 42 and not overlaps:  # "embarazada de 38 semanas de gestación": read once
                found.append(StatusMatch(match.start(), match.end(), f"Z3A.{weeks:02d}"))
    bmi = _BMI.get(language)
    if bmi:
        for match in re.finditer(bmi, folded):
            value = float(match.group("v").replace(",", "."))
            if 10 <= value < 100:
                found.append(StatusMatch(match.start(), match.end(), _bmi_code(value)))
    words = set(_WORD.findall(folded))
    for group in _groups(language):
        if group.first_words is not None and words.isdisjoint(group.first_words):
            continue
        for match in group.words.finditer(folded):
            code = group.codes[match.group()]
            if group.code_cues.get(code, group.cue).search(_sentence(folded, match.start(), match.end())):
                found.append(StatusMatch(match.start(), match.end(), code))
    return sorted(found, key=lambda m: (m.start, m.code))
