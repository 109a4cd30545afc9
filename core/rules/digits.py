"""The finger or metacarpal a code names is the one the note names: "trigger finger L ring" is M65.342 (left ring
finger), not the index finger the ranker guessed; "fx of 5th metacarpal neck" is the fifth metacarpal's code."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist

# The digit words of tabular titles, and how notes write each (English and Spanish).
_FINGERS = {
    "thumb": r"thumb|pulgar",
    "index": r"index|2nd finger|second finger|[ií]ndice",
    "middle": r"middle|long finger|3rd finger|third finger|dedo medio|coraz[oó]n",
    "ring": r"ring|4th finger|fourth finger|anular",
    "little": r"little|pinky|small finger|5th finger|fifth finger|me[nñ]ique",
}
_METACARPALS = {
    "second": r"(?:2nd|second|2º|segundo)\s+(?:metacarpal|mc\b|metacarpiano)",
    "third": r"(?:3rd|third|3º|tercer|tercero)\s+(?:metacarpal|mc\b|metacarpiano)",
    "fourth": r"(?:4th|fourth|4º|cuarto)\s+(?:metacarpal|mc\b|metacarpiano)",
    "fifth": r"(?:5th|fifth|5º|quinto)\s+(?:metacarpal|mc\b|metacarpiano)|boxer'?s fracture",
}


def _kind(title: str) -> tuple[str, dict[str, str]] | None:
    """The digit the title names and the words to look for in the note; None when it names no single digit."""
    if "metacarpal" in title:
        found = [w for w in _METACARPALS if f"{w} metacarpal" in title]
        return (found[0], _METACARPALS) if len(found) == 1 else None
    found = [w for w in _FINGERS if (f"{w} finger" if w != "thumb" else "thumb") in title]
    return (found[0], _FINGERS) if len(found) == 1 else None


def named_digits(work: Worklist) -> None:
    """A code for one finger or metacarpal becomes its sibling for the one digit the sentence names instead."""
    tabular = work.tabular
    text = work.analysis.text
    for entry in list(work.coded()):
        if entry.code[0] not in "MS" or not entry.spans:
            continue
        title = tabular.description(entry.code).lower()
        kind = _kind(title)
        if kind is None:
            continue
        digit, words = kind
        said: set[str] = set()
        for start, end in entry.spans:
            first, last = work.analysis.sentences.sentence_bounds(start, end)
            sentence = text[first:last]
            said |= {w for w, pattern in words.items() if re.search(rf"\b(?:{pattern})", sentence, re.IGNORECASE)}
        if len(said) != 1 or digit in said:
            continue
        wanted = title.replace(digit, next(iter(said)), 1)
        sibling = next((c for c in tabular.billable_descendants(entry.code[:5])
                        if tabular.description(c).lower() == wanted), "")
        if sibling and sibling != entry.code:
            why = f"the note names the {next(iter(said))} {'metacarpal' if words is _METACARPALS else 'finger'}"
            work.add(sibling, entry.suggestion.evidence, "tabular validator", why, entry.suggestion.score,
                     entry.suggestion.source)
            work.absorb(entry.code, sibling, "tabular validator", why)
