"""The vessel and mechanism of a cerebral infarction (I63): "acute ischemic stroke, L MCA, cardioembolic" is
I63.412 (embolism of the left middle cerebral artery), not I63.9. Only a stated mechanism picks the code (embolic
I63.4-, thrombotic I63.3-): an artery alone says where, not how, and "thrombectomy" names a treatment."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist

RULE = "stroke vessel"
_MECHANISMS = (("4", re.compile(r"\b(?:cardio)?embol(?:ic|ism|us|i|ia|ic[oa]s?)\b|\bcardioemb[oó]lic[oa]s?\b|"
                                r"\bemb[oó]lic[oa]s?\b", re.IGNORECASE)),
               ("3", re.compile(r"\bthrombo(?:tic|sis)\b|\btromb(?:[oó]tic[oa]s?|osis)\b", re.IGNORECASE)))
_ARTERIES = {
    "1": r"MCA|ACM|middle cerebral(?: artery)?|(?:arteria )?cerebral media",
    "2": r"ACA|anterior cerebral(?: artery)?|(?:arteria )?cerebral anterior",
    "3": r"PCA|ACP|posterior cerebral(?: artery)?|(?:arteria )?cerebral posterior",
    "4": r"cerebellar(?: artery)?|(?:arteria )?cerebelosa",
}
# The side words, in any case; "R" and "L" only as capitals.
_SIDES = {"1": r"(?i:right|rt\.?|derech[oa]|dcha\.?|dch[oa]\.?)|R", "2": r"(?i:left|lt\.?|izquierd[oa]|izq(?:d[oa])?\.?)|L",
          "3": r"(?i:bilateral(?:es)?|b/l)"}


def _side(text: str, start: int, end: int) -> str:
    """The side written right before or after an artery ("L MCA", "ACM izq", "left middle cerebral artery")."""
    before, after = text[max(0, start - 8) : start], text[end : end + 14]
    for digit, words in _SIDES.items():
        if re.search(rf"(?<!\w)(?:{words})\s*$", before) or re.match(rf"\s*(?:{words})(?!\w)", after):
            return digit
    return "9"


_CEREBRAL_ARTERY = re.compile(rf"(?<!\w)(?:{'|'.join(_ARTERIES.values())}|M[1-4]|basilar|vertebral|carotid|"
                              r"car[oó]tida|cerebral)(?!\w)")


def cerebral_embolism(work: Worklist) -> None:
    """An embolism of a cerebral artery with an infarct is the infarct by embolism (I74 Excludes1 the cerebral
    arteries, I63.0-I63.5): "acute L MCA territory infarct; embolic occlusion of L M2 branch" codes the infarct, not
    I74.9, however low the ranker scored the infarct's words."""
    text = work.analysis.text
    embolism = next((e for e in work.coded() if e.code.startswith("I74")), None)
    if embolism is None or not any(_CEREBRAL_ARTERY.search(text[slice(*work.analysis.sentences.sentence_bounds(a, b))])
                                   for a, b in embolism.spans):
        return
    infarct = next((e for e in [*work.coded(), *work.candidates()] if e.code.startswith("I63") and work.codable(e)
                    and "present" in work.assertions_of(e.suggestion)), None)
    if infarct is None:
        return
    work.promote(infarct.code, RULE, "the infarct the cerebral embolism caused")
    work.absorb(embolism.code, infarct.code, RULE, "an embolism of a cerebral artery is coded by its infarct (I74 "
                "Excludes1 I63.0-I63.5)")


def stroke_vessel(work: Worklist) -> None:
    """I63.9 (or an I63 code of an unspecified artery) becomes the code of the artery, side and mechanism stated."""
    text = work.analysis.text
    stroke = next((e for e in work.coded() if e.code in ("I63.9", "I63.30", "I63.40", "I63.50")), None)
    if stroke is None:
        return
    mechanism = next((digit for digit, words in _MECHANISMS for _ in work.stated(words)), "")
    if not mechanism:
        return
    for artery, words in _ARTERIES.items():
        found = next((m for m in re.finditer(rf"(?<!\w)(?:{words})(?!\w)", text, re.IGNORECASE)
                      if (m.group().isupper() or len(m.group()) > 4)
                      and work.analysis.assertion_of(m.start(), m.end())[0] == "present"), None)
        if found is None:
            continue
        code = f"I63.{mechanism}{artery}{_side(text, found.start(), found.end())}"
        if not work.tabular.is_billable(code):
            continue
        why = f"the note states the artery and the mechanism: {work.tabular.description(code)}"
        work.add(code, list(stroke.suggestion.evidence), RULE, why, stroke.suggestion.score, "index-navigator")
        work.absorb(stroke.code, code, "one condition, one code", why)
        return


_CURRENT_STROKE = ("I60", "I61", "I62", "I63")
_DEFICITS = ("G81", "G83.1", "G83.2", "G83.3")


def stroke_deficits(work: Worklist) -> None:
    """The hemiparesis or monoparesis of a current stroke is coded beside it (I.C.9.d: the deficits present at the
    visit), however low the ranker scored its words."""
    stroke = next((e for e in work.coded() if e.code.startswith(_CURRENT_STROKE)), None)
    if stroke is None or any(e.code.startswith(_DEFICITS) for e in work.coded()):
        return
    for entry in work.candidates():
        if entry.code.startswith(_DEFICITS) and "present" in work.assertions_of(entry.suggestion) \
                and not work.set_aside(entry.code, "tabular validator"):
            work.promote(entry.code, RULE, f"a deficit of the stroke ({stroke.code}) the note names")
            return
