"""The stage, type and acuity a note gives around a condition (core/nlp/condition_readings.py) make its code."""

from __future__ import annotations

from core.candidates.navigator import is_vague
from core.nlp.assertion import NOT_CODED
from core.rules.worklist import Worklist, block_of, denied_at
from core.schema import Span


def readings(work: Worklist) -> None:
    """The stage, type and acuity the note gives around a condition (CKD 3b, acute on chronic HFrEF) make its most
    specific code; the codes of the same condition found in fewer words give way to it."""
    analysis = work.analysis
    read = {r.code for r in analysis.readings}  # two readings of one sentence are two codes (J96.21 and J96.22)
    for reading in analysis.readings:
        assertion, _ = analysis.assertion_of(reading.start, reading.end)
        if assertion in NOT_CODED or (work.policy != "codiesp" and assertion == "historical"):
            continue
        if any(analysis.assertion_of(s, e)[0] in NOT_CODED and (s == reading.start or denied_at(analysis.text, s))
               for s, e in reading.qualifiers):
            continue  # "COPD, not in exacerbation" (a far "without aura, ... refractory" denies no intractability)
        text = analysis.text[reading.start : reading.end]
        entry = work.add(reading.code, [Span(start=reading.start, end=reading.end, text=text)], "specificity",
                         f"read {reading.what} around '{text}'", 0.5, "reading")
        for other in work.coded():
            same = other.code[:3] == reading.code[:3] or is_vague(other.code, work.tabular) and \
                work.tabular.chapter_of(other.code) == work.tabular.chapter_of(reading.code) \
                or _unidentified_twin(other.code, reading.code, work)  # J18.9 for J13, J11.1 for J10.1
            if other is not entry and same and other.code != reading.code and other.code not in read and any(
                    s < reading.end and reading.start < e for s, e in other.spans):
                work.absorb(other.code, reading.code, "one condition, one code", f"the note gives {reading.what}")


def _unidentified_twin(other: str, code: str, work: Worklist) -> bool:
    """``other`` is the "unidentified" form of the condition ``code`` names with its agent identified (J11.1 beside
    J10.1): the same block of the tabular list, the same manifestation."""
    tabular = work.tabular
    title = tabular.description(other).lower()
    return "unidentified" in title and "unidentified" not in tabular.description(code).lower() and \
        block_of(other, tabular) == block_of(code, tabular) and other[-2:] == code[-2:]
