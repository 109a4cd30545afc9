"""Encounters for screening for a malignant neoplasm (Z12.-), read the way a coder reads them (I.C.21.c.5).

A screening is a test of a person without signs or symptoms: the note says "screening" ("cribado"). The same test in
a work-up of a known or suspected disease ("work-up: CT, PET, colonoscopy, mammogram") is diagnostic, and its Z12 code
is wrong. A screening word next to the test's name is what makes it one, and the test names the Z12 code (a screening
colonoscopy Z12.11, a screening mammogram Z12.31). The words come from ``data/conventions/neoplasm.toml``.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from core.nlp.assertion import NOT_CODED
from core.rules.worklist import Worklist, title_end
from core.schema import Span

CUES = Path(__file__).resolve().parents[2] / "data" / "conventions" / "neoplasm.toml"
RULE = "screening"
SCREENING = "Z12."


# After a test's name: the test is for another visit ("due next month", "scheduled in 2 wk", "pendiente de").
_LATER = re.compile(r"\s*(?:is |was )?(?:due|overdue|next|scheduled|planned|to be scheduled|in \d+ (?:wk|week|month|"
                    r"year)|pendiente|programad[oa]|en \d+ (?:semana|mes|año))", re.IGNORECASE)


# Said of a test done before ("screening mammogram 2 wks ago"), or only recommended or ordered for another visit
# ("Se recomienda mamografía dentro del programa de cribado"): not this encounter's screening.
_EARLIER = re.compile(r"\s*(?:\S+\s+){0,2}?(?:\d+\s*(?:d|days?|wks?|weeks?|mos?|months?|yrs?|years?)\s+ago|hace \d+)",
                      re.IGNORECASE)
_ADVISED = re.compile(r"\b(?:recommend\w*|advised|order(?:ed)?|refer(?:red)?|se (?:recomienda|aconseja|solicita)|"
                      r"recomend\w*|solicit\w*)\b[^.;\n]{0,40}$", re.IGNORECASE)


# A screening for an infection the note already codes is none.
_KNOWN = {"Z11.4": ("B20", "Z21"), "Z11.59": ("B15", "B16", "B17", "B18", "B19")}


@lru_cache(maxsize=2)
def _patterns(language: str) -> tuple[re.Pattern[str] | None, dict[str, re.Pattern[str]]]:
    section = tomllib.loads(CUES.read_text(encoding="utf-8")).get(language, {}).get("screening", {})
    cue = re.compile(section["cue"], re.IGNORECASE) if "cue" in section else None
    exams = {code: re.compile(p, re.IGNORECASE) for code, p in section.get("exams", {}).items()}
    return cue, exams


def screening(work: Worklist) -> None:
    """Code the screening tests the note states; a Z12 code read from a test the note does not call a screening is
    not coded."""
    cue, exams = _patterns(work.analysis.language)
    if cue is None:
        return
    text = work.analysis.text
    sentences = work.analysis.sentences.spans
    screened = [(a, b) for a, b in sentences if cue.search(text, a, b)]
    for entry in list(work.coded()):
        if entry.code.startswith(SCREENING) and entry.spans and not any(
                a <= s < b for s, _ in entry.spans for a, b in screened):
            work.demote(entry.code, RULE, "the test is not called a screening: a work-up is diagnostic")
    for a, b in screened:
        if not any(exam.search(text, a, b) for exam in exams.values()):
            a, b = 0, title_end(text)  # "COLONOSCOPY REPORT ... Indication: screening": the report's title names the test
        for code, exam in exams.items():
            m = exam.search(text, a, b)
            if m is None or not work.tabular.is_billable(code):
                continue
            if any(e.code.startswith(_KNOWN.get(code, ("-",))) for e in work.coded()):
                continue  # "HIV on ART; screening colonoscopy": the patient's known infection is no screening
            assertion, said = work.analysis.assertion_of(m.start(), m.end())
            if assertion in NOT_CODED and not (assertion == "hypothetical" and cue.fullmatch(said)) or \
                    _LATER.match(text, m.end()):
                continue  # "Mammogram due next month": another visit's test ("Hep C screen" is this one's)
            if _EARLIER.match(text, m.end()) or _ADVISED.search(text, max(a, m.start() - 50), m.start()):
                for other in work.coded():
                    if other.code.startswith(SCREENING) and any(a <= s < b for s, _ in other.spans):
                        work.demote(other.code, RULE, "the screening was done before, or is advised for later")
                continue
            work.add(code, [Span(start=m.start(), end=m.end(), text=m.group())], RULE,
                     f"'{m.group()}' is a screening: {work.tabular.description(code)}", 0.8, "tabular-list")
            work.list_first(code)  # the encounter's reason is listed first (I.C.21.c.5)
            for other in work.coded():  # one test, one code: "other screening of breast" Z12.39 beside Z12.31
                if other.code != code and other.code[:5] == code[:5] and other.code.startswith(SCREENING):
                    work.absorb(other.code, code, RULE, f"{code} names the screening test")
