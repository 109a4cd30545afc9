"""A fracture the note says osteoporosis or a neoplasm caused is a pathological fracture, coded in chapter 13 with its
site, side and encounter, not as an injury (I.C.13.c, I.C.19.c.1): "osteoporotic (fragility) compression fx T12" is
M80.08XA, "pathologic compression fx L2 d/t metastatic prostate adenocarcinoma" is M84.58XA. The injury code,
the plain osteoporosis code (M81 Excludes1 M80) and the collapsed vertebra code give way to it."""

from __future__ import annotations

import re

from core.rules.injury import visit_encounter, with_seventh
from core.rules.worklist import Worklist, affirmed
from core.schema import Span

RULE = "pathological fracture"
_FRACTURE = re.compile(r"\b(?:fx|fractures?|fractured|fracturas?)\b", re.IGNORECASE)
_OSTEOPOROTIC = re.compile(r"\b(?:osteoporotic|fragility|insufficiency (?:fx|fractures?)|osteopor[oó]tic[oa]s?|"
                           r"por fragilidad|(?:fractura|fx) de insuficiencia)\b", re.IGNORECASE)
# A trauma that would break a healthy bone: the fracture is an injury even in an osteoporotic patient (I.C.13.c).
_MAJOR_TRAUMA = re.compile(r"\b(?:MVC|MVA|motor vehicle|collision|high[- ]energy|fall from (?:a )?height|"
                           r"accidente de tr[aá]fico|precipitaci[oó]n|alta energ[ií]a)\b", re.IGNORECASE)
_PATHOLOGICAL = re.compile(r"\b(?:pathologic(?:al)?|patol[oó]gic[oa])\b", re.IGNORECASE)
# Sites: their words, the M80.0- site (age-related osteoporosis) and the M84.5- site (neoplastic disease); "{side}"
# takes 1 (right), 2 (left) or 9 (unspecified).
_SITES = (
    (re.compile(r"\b(?:vertebra[el]?|vertebral|spine|spinal|[TL]\d{1,2}|compression|v[eé]rtebras?|aplastamiento|"
                r"acu[nñ]amiento)\b", re.IGNORECASE), "M80.08", "M84.58"),
    (re.compile(r"\b(?:hip|femur|femoral|cadera|f[eé]mur)\b", re.IGNORECASE), "M80.05{side}", "M84.55{femur}"),
    (re.compile(r"\b(?:humerus|humeral|h[uú]mero)\b", re.IGNORECASE), "M80.02{side}", "M84.52{side}"),
    (re.compile(r"\b(?:wrist|radius|radial|colles|mu[nñ]eca|radio)\b", re.IGNORECASE), "M80.03{side}", ""),
)
_SIDE_DIGIT = {"right": "1", "left": "2"}  # the unspecified side is 9, an unspecified femur 3 (M84.553)
_REPLACED = ("S12", "S22.0", "S32.0", "S72", "S42.2", "S42.3", "S52", "M48.5", "M81", "M84.4", "M80.00")


def pathological_fractures(work: Worklist) -> None:
    """The first fracture whose sentence names its cause (osteoporosis, fragility; pathological with a coded
    malignancy) is coded by site, side and encounter; the codes that read it as an injury give way."""
    text = work.analysis.text
    osteoporosis = any(e.code.startswith(("M80", "M81")) for e in work.coded())
    malignancy = any(e.code.startswith("C") for e in work.coded())
    for fracture in _FRACTURE.finditer(text):
        if work.analysis.assertion_of(fracture.start(), fracture.end())[0] != "present":
            continue
        left, right = work.analysis.sentences.sentence_bounds(fracture.start(), fracture.end())
        sentence = text[left:right]
        pathological = affirmed(_PATHOLOGICAL, sentence) is not None
        if pathological and malignancy:
            column = 2
        elif _MAJOR_TRAUMA.search(sentence):
            continue
        elif affirmed(_OSTEOPOROTIC, sentence) is not None or (osteoporosis or re.search(
                r"osteopor", sentence, re.IGNORECASE)) and (
                pathological or re.search(r"\bcompression\b|aplastamiento", sentence, re.IGNORECASE)):
            column = 1
        else:
            continue
        site = next((row for row in _SITES if row[0].search(sentence) and row[column]), None)
        if site is None:
            continue
        side = work.analysis.side_of(fracture.start(), fracture.end())
        base = site[column].format(side=_SIDE_DIGIT.get(side, "9"), femur=_SIDE_DIGIT.get(side, "3"))
        seventh = visit_encounter(text)
        code = (seventh and with_seventh(base, seventh, work.tabular)) or with_seventh(base, "A", work.tabular)
        if not code:
            continue
        cause = "neoplastic disease" if column == 2 else "osteoporosis"
        work.add(code, [Span(start=left, end=right, text=sentence)], RULE, f"a fracture the note puts down to "
                 f"{cause}: {work.tabular.description(code)}", 0.9, "index-navigator")
        for entry in work.coded():
            same_words = any(left <= a and b <= right for a, b in entry.spans)
            if entry.code != code and entry.code.startswith(_REPLACED) and (
                    same_words or entry.code.startswith(("M80.00", "M84.4")) if not entry.code.startswith("M81")
                    else column == 1):  # "pathological fx" in the assessment is the same fracture
                work.absorb(entry.code, code, RULE, f"{code} names the fracture with its cause")
        return
