"""Scores the classification codes by their value: the NIH stroke scale (R29.7-, I.C.18.i) beside an acute stroke."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist
from core.schema import Span

_NIHSS = re.compile(r"\bNIHSS\b(?:\s+(?:score|scale))?(?:\s+(?:of|was|is|de|en|al ingreso|on arrival))*\s*[:=]?\s*"
                    r"(\d{1,2})\b(?!\s*(?:h|hr|hours|horas|min|d)\b)", re.IGNORECASE)
_STROKES = ("I60", "I61", "I62", "I63")


def nihss(work: Worklist) -> None:
    """The first NIHSS score the note gives is coded R29.7NN with its stroke (the code's own number, not the
    dictionary's guess of one); without a coded stroke none is."""
    found = _NIHSS.search(work.analysis.text)
    scored = [e for e in work.coded() if e.code.startswith("R29.7")]
    stroke = any(e.code.startswith(_STROKES) for e in work.coded())
    code = f"R29.7{int(found.group(1)):02d}" if found and stroke else ""
    if code and not work.tabular.is_billable(code):
        code = ""
    for entry in scored:
        if entry.code != code:
            work.demote(entry.code, "NIHSS", "the note's score is another" if code else
                        "no stroke is coded" if found else "the note gives no score")
    if code:
        work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], "NIHSS",
                 f"the stroke's NIH stroke scale score: {found.group(1)}", 0.5, "rule")
