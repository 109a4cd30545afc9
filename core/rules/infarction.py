"""An acute myocardial infarction and what goes with it (I.C.9.e): a second infarction within four weeks of the
first (I22), the angina and the antiplatelets that belong to the infarction rather than to a separate condition."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist

RULE = "myocardial infarction"
ACUTE_MI = ("I21", "I22")
_STEMI = ("I21.0", "I21.1", "I21.2", "I21.3")
_ANTIPLATELETS = ("Z79.02", "Z79.82")
# Words that say the antiplatelet was taken before this infarction, as long-term treatment.
_TAKEN_BEFORE = re.compile(r"\b(?:long[- ]term|chronic(?:ally)?|home|prior to (?:admission|arrival)|already on|"
                           r"baseline|for years|indefinite(?:ly)?|cr[oó]nic[oa]|de forma indefinida|habitual|"
                           r"previ[oa]|domiciliari[oa]|desde hace)\b", re.IGNORECASE)
# A new infarction named as such: "recurrent NSTEMI", "subsequent anterior wall STEMI", "reinfarto".
_MI_WORDS = r"(?:n?stemi|mi|myocardial infarction|iam\w*|infarto(?: agudo)?(?: de miocardio)?|scac?e?st)"
_SUBSEQUENT = re.compile(rf"\b(?:recurrent|subsequent|new|re-?infarction|reinfarto|nuevo|recurrente)\s+"
                         rf"(?:[\w-]+\s+){{0,3}}?{_MI_WORDS}\b|\b{_MI_WORDS}\s+(?:recurrente|nuevo)\b|\breinfarto\b",
                         re.IGNORECASE)
# The first infarction less than four weeks before, dated in a sentence that names an infarction: "within 4 weeks",
# "readmitted 12 days after an NSTEMI", "NSTEMI 2 wks ago", "IAM hace 10 días" ("started lisinopril 10 days ago"
# in a sentence of its own dates no infarction).
_MI = re.compile(rf"\b{_MI_WORDS}\b", re.IGNORECASE)
_DATED = re.compile(r"\bwithin (?:4|four) weeks\b|\ben las (?:4|cuatro) semanas\b|"
                    r"\b(?P<n>\d{1,2})\s*(?P<unit>days?|d|wks?|weeks?|d[ií]as|semanas)\s+(?:after|ago|prior|earlier|"
                    r"before|post|tras|despu[eé]s|antes)\b|\bhace (?P<n_es>\d{1,2})\s*(?P<unit_es>d[ií]as|semanas)\b",
                    re.IGNORECASE)


def _within_four_weeks(work: Worklist) -> bool:
    text, sentences = work.analysis.text, work.analysis.sentences
    for mention in _MI.finditer(text):
        left, right = sentences.sentence_bounds(mention.start(), mention.end())
        for date in _DATED.finditer(text, left, right):
            number, unit = date.group("n") or date.group("n_es"), date.group("unit") or date.group("unit_es") or ""
            days = int(number) * (7 if unit.lower().startswith(("w", "s")) else 1) if number else 0
            if days <= 28:
                return True
    return False


def _kind(words: str) -> str:
    """The I22 code of the subsequent infarction the words describe."""
    if re.search(r"\bnstemi\b|non[- ]st|sin elevaci[oó]n|\biamsest\b|\bscasest\b", words, re.IGNORECASE):
        return "I22.2"
    if re.search(r"\bstemi\b|st[- ]elevation|con elevaci[oó]n|\biamcest\b|\bscacest\b", words, re.IGNORECASE):
        if re.search(r"\banterior\b|\blad\b|\bda\b|descendente anterior|v[1-4]", words, re.IGNORECASE):
            return "I22.0"
        if re.search(r"\binferior\b|\brca\b|\bcd\b|coronaria derecha", words, re.IGNORECASE):
            return "I22.1"
        return "I22.8"
    return "I22.9"


def subsequent_infarction(work: Worklist) -> None:
    """A new infarction within four weeks of a first one is coded I22 beside the first one's I21 (I.C.9.e.4); the
    old MI code (I25.2) is for an infarction more than four weeks old, and the I21 read from the new one's own words
    gives way to its I22."""
    text = work.analysis.text
    first = [e for e in work.coded() if e.code.startswith("I21")]
    if not first or not _within_four_weeks(work):
        return
    sentences = work.analysis.sentences
    found = next((m for m in _SUBSEQUENT.finditer(text) if work.analysis.assertion_of(m.start(), m.end())[0] in
                  ("present", "historical")), None)
    if found is None:
        return
    left, right = sentences.sentence_bounds(found.start(), found.end())
    code = _kind(text[left:right])
    if not any(e.code.startswith("I22") for e in work.coded()):
        evidence = [s for e in first for s in e.suggestion.evidence]
        work.add(code, evidence, RULE, f"a new infarction within four weeks of the first: "
                 f"{work.tabular.description(code)}", 0.5, "index-navigator")
    subsequent = next(e for e in work.coded() if e.code.startswith("I22"))
    named = [(a, b) for m in _SUBSEQUENT.finditer(text) for a, b in [sentences.sentence_bounds(m.start(), m.end())]]
    for entry in work.coded():
        if entry.code.startswith(_STEMI) and subsequent.code != "I22.2" and all(
                any(a <= s < b for a, b in named) for s, _ in entry.spans):
            work.absorb(entry.code, subsequent.code, RULE, "the new infarction's own words")
        elif entry.code == "I25.2":
            work.absorb(entry.code, subsequent.code, RULE, "the first infarction is less than four weeks old")


def angina_of_the_infarction(work: Worklist) -> None:
    """Coronary disease with angina beside an acute infarction this stay treats: the angina is the infarction's
    (I25.11- gives way to I25.10)."""
    if not any(e.code.startswith(ACUTE_MI) for e in work.coded()):
        return
    for entry in work.coded():
        if entry.code.startswith("I25.11"):
            work.add("I25.10", list(entry.suggestion.evidence), RULE, "the angina belongs to the acute infarction",
                     entry.suggestion.score, "tabular-list")
            work.absorb(entry.code, "I25.10", RULE, "the angina belongs to the acute infarction")


def antiplatelets_of_the_infarction(work: Worklist) -> None:
    """Aspirin and a P2Y12 inhibitor given for the acute myocardial infarction this stay treats are that infarction's
    treatment, not a long-term drug status (Z79.02, Z79.82); one the note says the patient took before ("en tto.
    crónico con AAS", "on ASA 81 long term") stays coded."""
    if not any(e.code.startswith(ACUTE_MI) for e in work.coded()):
        return
    sentences = work.analysis.sentences
    text = work.analysis.text
    for entry in work.coded():
        if entry.code in _ANTIPLATELETS and not any(
                _TAKEN_BEFORE.search(text[slice(*sentences.sentence_bounds(a, b))]) for a, b in entry.spans):
            work.demote(entry.code, "status", "the antiplatelet treatment of this acute myocardial infarction")
