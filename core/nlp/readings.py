"""Specificity a coder reads from the words around a condition rather than from one term: the stage of chronic
kidney disease ("CKD 3b", "ERC estadio 5 en hemodiálisis") and the type and acuity of heart failure ("acute on
chronic HFrEF", "insuficiencia cardiaca con FEVI reducida, descompensada"). Each reading is a billable code with the
words it was read from; the reconciler codes it in place of the unspecified code of the same condition."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.nlp.condition_readings import read_conditions
from core.nlp.sentences import SentenceIndex

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
CKD_CODES = {"1": "N18.1", "2": "N18.2", "3": "N18.30", "3a": "N18.31", "3b": "N18.32", "4": "N18.4", "5": "N18.5"}
ESRD = "N18.6"
_CKD = {
    "en": re.compile(r"\b(?:chronic kidney disease|ckd|chronic renal (?:disease|failure|insufficiency))\b"
                     r"(?:[,\s]+(?:stage|st\.?|grade|g)?\s*(?P<stage>[1-5]|iv|v|i{1,3})(?P<sub>[ab])?\b)?", re.IGNORECASE),
    "es": re.compile(r"\b(?:erc|irc|enfermedad renal cr[oó]nica|insuficiencia renal cr[oó]nica)\b"
                     r"(?:[,\s]+(?:en\s+)?(?:estadio|grado|g)?\s*(?P<stage>[1-5]|iv|v|i{1,3})(?P<sub>[ab])?\b)?",
                     re.IGNORECASE),
}
_END_STAGE = {
    "en": re.compile(r"\b(?:esrd|end[- ]stage (?:renal|kidney) disease)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:erc terminal|irc terminal|enfermedad renal (?:cr[oó]nica )?terminal|"
                     r"insuficiencia renal (?:cr[oó]nica )?terminal)\b", re.IGNORECASE),
}
_DIALYSIS = re.compile(r"(?i:di[aá]lisis|dialysis)|\b(?:HD|HDF|DP|PD|CAPD|DPCA)\b")  # hemo-, peritoneal dialysis
_NOT_YET = re.compile(r"\b(?:not|no|without|never|pre|sin|no precisa|todav[ií]a no|a[uú]n no)\b[\w\s-]*$", re.IGNORECASE)

_HEART_FAILURE = {
    "en": re.compile(r"\b(?:heart failure|cardiac failure|chf|hfref|hfpef|hf)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:(?i:insuficiencia cardi[aá]ca(?: congestiva)?|fallo cardi[aá]co)|ICC|IC|icc)\b"),
}
_TYPE = {
    "en": {"combined": r"combined systolic and diastolic|systolic\s*(?:and|\+|&|/)\s*diastolic|diastolic\s*(?:and|\+|&|/)\s*"
                       r"systolic",
           "systolic": r"systolic|hfref|reduced ejection fraction|reduced ef\b",
           "diastolic": r"diastolic|hfpef|preserved ejection fraction|preserved ef\b"},
    "es": {"combined": r"sist[oó]lica y diast[oó]lica",
           "systolic": r"sist[oó]lica|fevi (?:reducida|deprimida|disminuida)|fracci[oó]n de eyecci[oó]n (?:reducida|"
                       r"deprimida)",
           "diastolic": r"diast[oó]lica|fevi (?:preservada|conservada)|fracci[oó]n de eyecci[oó]n (?:preservada|"
                        r"conservada)"},
}
_ACUITY = {
    "en": {"acute on chronic": r"acute on chronic|acute-on-chronic|decompensated|exacerbation|exacerbated",
           "acute": r"\bacute\b|new[- ]onset",
           "chronic": r"\bchronic\b|compensated"},
    "es": {"acute on chronic": r"aguda sobre cr[oó]nica|cr[oó]nica agudizada|agudizada|reagudizada|descompensada|"
                               r"descompensaci[oó]n|"
                               r"agudizaci[oó]n",
           "acute": r"\baguda\b|de novo|de reciente diagn[oó]stico",
           "chronic": r"\bcr[oó]nica\b|compensada"},
}
HF_CODES = {("systolic", "acute"): "I50.21", ("systolic", "chronic"): "I50.22", ("systolic", "acute on chronic"): "I50.23",
            ("systolic", ""): "I50.20", ("diastolic", "acute"): "I50.31", ("diastolic", "chronic"): "I50.32",
            ("diastolic", "acute on chronic"): "I50.33", ("diastolic", ""): "I50.30",
            ("combined", "acute"): "I50.41", ("combined", "chronic"): "I50.42", ("combined", "acute on chronic"): "I50.43",
            ("combined", ""): "I50.40"}
WINDOW = 60  # characters either side of the condition where its type and acuity are read, within its sentence


@dataclass(frozen=True, slots=True)
class Reading:
    start: int
    end: int
    code: str
    what: str  # what was read, for the rationale ("stage 3b", "systolic, acute on chronic")
    # the condition's own words ("no DVT" in "L leg: no DVT") and those beside them ("exacerbation"), each asserted
    qualifiers: tuple[tuple[int, int], ...] = ()


def read_specificity(text: str, language: str, sentences: SentenceIndex) -> list[Reading]:
    """CKD stages and heart-failure type and acuity read in ``text``; a reading never crosses a sentence of
    ``sentences``."""
    return [*_ckd(text, language, sentences.sentence_bounds), *_heart_failure(text, language, sentences.sentence_bounds),
            *read_conditions(text, language, sentences, Reading)]


def _ckd(text: str, language: str, sentence_bounds) -> list[Reading]:  # noqa: ANN001
    found: list[Reading] = []
    pattern = _CKD.get(language)
    if pattern is None:
        return found
    for match in pattern.finditer(text):
        stage = (match.group("stage") or "").lower()
        if not stage:
            continue
        stage = str(_ROMAN.get(stage, stage)) + (match.group("sub") or "").lower()
        code = CKD_CODES.get(stage) or CKD_CODES.get(stage[:1])
        left, right = sentence_bounds(match.start(), match.end())
        dialysis = _DIALYSIS.search(text, left, right)
        if dialysis and _NOT_YET.search(text[max(left, dialysis.start() - 24) : dialysis.start()]):
            dialysis = None  # "not yet on dialysis", "sin diálisis", "pre-dialysis"
        if stage.startswith("5") and dialysis:
            code, stage = ESRD, "5 on dialysis"
        found.append(Reading(match.start(), match.end(), code, f"stage {stage}"))
    for match in _END_STAGE.get(language, re.compile(r"(?!)")).finditer(text):
        found.append(Reading(match.start(), match.end(), ESRD, "end stage"))
    return found


def _heart_failure(text: str, language: str, sentence_bounds) -> list[Reading]:  # noqa: ANN001
    found: list[Reading] = []
    pattern = _HEART_FAILURE.get(language)
    if pattern is None:
        return found
    lowered = text.lower()
    for match in pattern.finditer(text):
        if language == "en" and match.group().lower() == "hf" and not match.group().isupper():
            continue
        left, right = sentence_bounds(match.start(), match.end())
        window = lowered[max(left, match.start() - WINDOW) : min(right, match.end() + WINDOW)]
        kind = next((k for k, words in _TYPE[language].items() if re.search(words, window)), "")
        if not kind:
            continue
        acuity = next((a for a, words in _ACUITY[language].items() if re.search(words, window)), "")
        code = HF_CODES[(kind, acuity)]
        found.append(Reading(match.start(), match.end(), code, ", ".join(filter(None, (kind, acuity)))))
    return found
