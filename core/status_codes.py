"""Status codes a coder reads from a number or a treatment rather than from a diagnosis term.

- Weeks of gestation, Z3A.08–Z3A.42: "38 semanas de gestación", "semana 35 de gestación", "24 weeks' gestation".
- Adult body-mass index, Z68.1–Z68.45: "IMC de 36" → Z68.36, "BMI 41" → Z68.41.
- Long-term (current) drug therapy, Z79.x: a drug word from ``data/long_term_drugs.toml`` in a sentence that says the
  patient is treated with / takes it ("en tratamiento con prednisona" → Z79.52).

They are ranker candidates (source ``status-rule``): the ranker learns from coded notes how often coders use them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.textnorm import strip_accents

STATUS_SOURCE = "status-rule"
DRUGS_FILE = Path(__file__).resolve().parent.parent / "data" / "long_term_drugs.toml"

_WEEKS = {
    "es": (r"(?P<n>\d{1,2})\s*(?:\+\s*\d\s*)?semanas?\s+de\s+(?:gestacion|embarazo|amenorrea|edad gestacional)",
           r"semana\s+(?P<n>\d{1,2})\s+de\s+(?:gestacion|embarazo)",
           r"(?:gestacion|embarazo|edad gestacional)\s+de\s+(?P<n>\d{1,2})\s*(?:\+\s*\d\s*)?semanas"),
    "en": (r"(?P<n>\d{1,2})\s*(?:\+\s*\d\s*)?weeks?'?\s+(?:of\s+)?(?:gestation|pregnancy|gestational age)",
           r"(?:gestation|pregnancy|gestational age)\s+of\s+(?P<n>\d{1,2})\s+weeks",
           r"week\s+(?P<n>\d{1,2})\s+of\s+(?:gestation|pregnancy)"),
}
_BMI = {
    "es": r"\b(?:imc|indice\s+de\s+masa\s+corporal)\b(?:\s*(?:de|era|fue|en|:|=|>))*\s*(?P<v>\d{2}(?:[.,]\d+)?)",
    "en": r"\b(?:bmi|body\s+mass\s+index)\b(?:\s*(?:of|was|is|:|=|>))*\s*(?P<v>\d{2}(?:[.,]\d+)?)",
}
_TREATED = {
    "es": r"tratamiento|tratad[oa]s?|terapia|\btoma\b|tomaba|recibe|recibia|habitual|cronic|mantenimiento|dependiente"
          r"|anticoagulad|antiagregad|insulinoterapia|corticoterapia",
    "en": r"treat|therapy|\btakes?\b|taking|\bon\b|long-term|chronic|maintenance|dependent|anticoagulated",
}
_SENTENCE_END = re.compile(r"[.;\n]")


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


@lru_cache(maxsize=4)
def _drug_pattern(language: str, path: Path = DRUGS_FILE) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One alternation of every drug word (longest first) and word → code; (None, {}) without the file."""
    if not path.is_file():
        return None, {}
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    words: dict[str, str] = {}
    for code, entry in table.items():
        for word in entry.get(language, []):
            words[strip_accents(word.lower())] = code
    if not words:
        return None, {}
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b"), words


def _sentence(folded: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(folded, 0, start)), default=0)
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
            if 8 <= weeks <= 42:
                found.append(StatusMatch(match.start(), match.end(), f"Z3A.{weeks:02d}"))
    bmi = _BMI.get(language)
    if bmi:
        for match in re.finditer(bmi, folded):
            value = float(match.group("v").replace(",", "."))
            if 10 <= value < 100:
                found.append(StatusMatch(match.start(), match.end(), _bmi_code(value)))
    drugs, words = _drug_pattern(language)
    treated = _TREATED.get(language)
    if drugs is not None and treated:
        for match in drugs.finditer(folded):
            if re.search(treated, _sentence(folded, match.start(), match.end())):
                found.append(StatusMatch(match.start(), match.end(), words[match.group()]))
    return sorted(found, key=lambda m: (m.start, m.code))
