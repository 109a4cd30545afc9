"""Rule-based assertion detection (negated, ruled out, possible, historical, family, hypothetical).

A small ConText-style algorithm: a trigger phrase in the same clause (spaCy sentence, cut at ; and :) scopes forward (pre-triggers)
or backward (post-triggers) over a few tokens, and scope stops at a termination word ("but", "pero").
Negated, family and hypothetical mentions are not coded; the reason stays in the trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.schema import Assertion
from core.sentences import SentenceIndex
from core.textnorm import normalize

WINDOW_CHARS = 60  # how far a trigger reaches (about 6–8 words)

_PRE: dict[str, dict[str, list[str]]] = {
    "en": {
        "negated": [
            "no", "not", "denies", "denied", "deny", "without", "negative for", "no evidence of", "no signs of",
            "absence of", "absent", "free of", "ruled out", "rules out", "excluded", "nor", "never had",
            "no history of", "unremarkable for", "resolved",
        ],
        "possible": ["possible", "probable", "suspected", "suspicion of", "rule out", "r/o", "cannot exclude",
                     "questionable", "likely", "differential diagnosis"],
        "family": ["family history of", "mother", "father", "brother", "sister", "maternal", "paternal"],
        "hypothetical": ["risk of", "if", "in case of", "prophylaxis of", "to prevent"],
        "historical": ["history of", "past history of", "previous", "prior", "hx of", "status post"],
    },
    "es": {
        "negated": [
            "no", "sin", "niega", "negaba", "nego", "negativo para", "negativa para", "ausencia de", "ausente",
            "libre de", "se descarta", "se descarto", "descartandose", "descartando", "ni", "no se observa",
            "no se observan", "no presenta", "no presento", "sin evidencia de", "sin signos de", "no refiere",
        ],
        "possible": ["posible", "probable", "sospecha de", "sospecha", "dudoso", "dudosa", "a descartar",
                     "diagnostico diferencial"],
        "family": ["antecedentes familiares de", "madre", "padre", "hermano", "hermana", "familiar"],
        "hypothetical": ["riesgo de", "en caso de", "profilaxis de", "para prevenir"],
        "historical": ["antecedentes de", "antecedente de", "historia de", "previo", "previa"],
    },
}
_POST: dict[str, dict[str, list[str]]] = {
    "en": {"negated": ["was ruled out", "were ruled out", "is ruled out", "ruled out", "negative", "was excluded",
                       "unlikely", "not seen", "not found", "was not", "were not"],
           "possible": ["is suspected", "was suspected", "cannot be excluded"]},
    "es": {"negated": ["fue descartada", "fue descartado", "descartada", "descartado", "descartados",
                       "descartadas", "negativo", "negativa", "negativos", "negativas", "ausente"],
           "possible": ["a descartar", "en estudio"]},
}
_TERMINATION = {
    "en": ["but", "however", "although", "except", "which", "aside from", "apart from", "presented with", "with"],
    "es": ["pero", "aunque", "sin embargo", "excepto", "salvo", "que presenta", "presentando", "con", "y presenta"],
}
# Order matters: a negation outranks a possibility, which outranks history.
_PRIORITY: tuple[Assertion, ...] = ("negated", "family", "hypothetical", "possible", "historical")


def _pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(normalize(w)) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(alternatives) + r")(?![\w])")


@dataclass(frozen=True)
class _Rules:
    pre: dict[str, re.Pattern[str]]
    post: dict[str, re.Pattern[str]]
    termination: re.Pattern[str]


_RULES = {
    lang: _Rules(
        pre={k: _pattern(v) for k, v in _PRE[lang].items()},
        post={k: _pattern(v) for k, v in _POST[lang].items()},
        termination=_pattern(_TERMINATION[lang]),
    )
    for lang in _PRE
}


class AssertionDetector:
    """Works on the normalised note (same length as the original for Latin text, so offsets carry over)."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.norm = _same_length_normalize(text)
        self.rules = _RULES.get(language, _RULES["en"])
        self.sentences = SentenceIndex(text, language)

    def classify(self, start: int, end: int) -> tuple[Assertion, str]:
        """Assertion of the mention at [start, end) and the cue that set it ("" when present)."""
        left, right = self.sentences.clause_bounds(start, end)
        before = self.norm[max(left, start - WINDOW_CHARS) : start]
        after = self.norm[end : min(right, end + WINDOW_CHARS)]
        found: dict[str, str] = {}
        for kind, pattern in self.rules.pre.items():
            for match in pattern.finditer(before):
                between = before[match.end() :]
                if not self.rules.termination.search(between):
                    found.setdefault(kind, match.group(1))
        for kind, pattern in self.rules.post.items():
            match = pattern.search(after)
            if match and not self.rules.termination.search(after[: match.start()]):
                found.setdefault(kind, match.group(1))
        for kind in _PRIORITY:
            if kind in found:
                return kind, found[kind]
        return "present", ""


def _same_length_normalize(text: str) -> str:
    """Lower-case and strip accents character by character so offsets stay valid."""
    out = []
    for ch in text:
        norm = normalize(ch)
        out.append(norm if len(norm) == 1 else (ch.lower() if len(ch.lower()) == 1 else " "))
    return "".join(out)
