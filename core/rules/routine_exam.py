"""An encounter for a routine general examination of an adult (Z00.00, I.C.21.c.13): the note says the visit is an
annual physical or a check-up and states no condition. Z00.01 ("with abnormal findings") is coded when the only
codes beside it are findings (chapter 18); a visit that codes any condition is left to the coder."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist, in_language, title_end
from core.schema import Span

RULE = "routine examination"
ROUTINE_EXAM = "Z00.00"
WITH_FINDINGS = "Z00.01"  # the findings (chapter 18: an elevated blood pressure reading, an abnormal lab) coded after it
_VISIT = {
    "en": re.compile(r"\b(?:annual (?:physical|exam|examination|wellness|check-?up)|routine (?:physical|exam|"
                     r"examination|check-?up)|well(?:ness)? (?:visit|exam|adult)|preventive (?:visit|exam)|"
                     r"general (?:medical )?exam(?:ination)?|health check-?up|physical exam(?:ination)? for "
                     r"(?:work|employment|insurance))\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:revisi[oó]n (?:anual|rutinaria|de salud|general|m[eé]dica anual)|chequeo (?:anual|"
                     r"rutinario|m[eé]dico|de salud)|reconocimiento m[eé]dico|examen de salud|control de salud)\b",
                     re.IGNORECASE),
}
# A child's age, not a time span ("próxima revisión en 2 años", "RTC in 1 year").
_CHILD = re.compile(r"(?<!\ben )(?<!\bin )(?<!cada )(?<!every )\b(?:1[0-7]|[1-9])[- ](?:y/?o|year|yo|a[nñ]os?|mes(?:es)?|months?)\b|\b(?:child|infant|"
                    r"newborn|ni[nñ][oa]|lactante|reci[eé]n nacido)\b", re.IGNORECASE)


def routine_exam(work: Worklist) -> None:
    """Z00.00 for an adult's annual physical or check-up that codes no condition (status and history codes aside), or
    Z00.01 listed first when the only other codes are findings."""
    text = work.analysis.text
    found = in_language(_VISIT, work)
    if found is None or _CHILD.search(text) or any(not e.code.startswith(("Z", "R")) for e in work.coded()):
        return
    findings = [e.code for e in work.coded() if e.code.startswith("R")]
    code = WITH_FINDINGS if findings else ROUTINE_EXAM
    work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
             f"'{found.group()}': a routine general examination "
             + (f"with abnormal findings ({', '.join(findings)})" if findings else "with nothing found"), 0.5,
             "tabular-list")
    if findings:
        work.list_first(code)


SURVEILLANCE = "Z08"
_SURVEILLANCE = {
    "en": re.compile(r"\bsurvivorship (?:visit|clinic|care)\b|\bsurveillance\s+(?:ct|mri|pet|imaging|scans?|colonoscopy|mammogra\w*|cystoscopy|endoscopy|egd|"
                     r"visit|exam\w*|labs?|follow-?up)\b|\b(?:indication|reason for (?:visit|exam)):\s*surveillance\b|"
                     r"\bfor surveillance\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:vigilancia|seguimiento oncol[oó]gico|control oncol[oó]gico|revisi[oó]n oncol[oó]gica)\b",
                     re.IGNORECASE),
}


_FOLLOW_UP_TITLE = {
    "en": re.compile(r"\b(?:f/u|follow[- ]?up|survivorship|surveillance|post-?treatment)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:revisi[oó]n|seguimiento|control|vigilancia)\b", re.IGNORECASE),
}
_NO_RECURRENCE = {
    "en": re.compile(r"\bno (?:evidence of |signs? of )?(?:recurrence|recurrent disease|residual disease|disease)\b|"
                     r"(?-i:\bNED\b)", re.IGNORECASE),
    "es": re.compile(r"\bsin (?:evidencia|signos) de (?:recidiva|enfermedad)|\blibre de enfermedad\b|"
                     r"\bsin recidiva\b", re.IGNORECASE),
}


def cancer_surveillance(work: Worklist) -> None:
    """Z08 for a surveillance visit or test after a malignancy's treatment ended (I.C.21.c.8): the note codes its
    history (Z85) and no current malignancy, and calls the visit or test surveillance, or is a follow-up visit (its
    title says so) that finds no recurrence."""
    language, text = work.analysis.language, work.analysis.text
    found = in_language(_SURVEILLANCE, work)
    title = text[: title_end(text)]
    if found is None and language in _FOLLOW_UP_TITLE and _FOLLOW_UP_TITLE[language].search(title) and \
            all(e.code[0] == "Z" for e in work.coded()):  # nothing else is followed up ("HTN f/u", "Endocrine f/u")
        found = _NO_RECURRENCE[language].search(text)
    coded = [e.code for e in work.coded()]
    if found is None or not any(c.startswith("Z85") for c in coded) or any(
            c[0] == "C" or c.startswith(("Z00", "Z51")) for c in coded):
        return
    work.add(SURVEILLANCE, [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
             f"'{found.group()}' after a malignancy's treatment ended: {work.tabular.description(SURVEILLANCE)}",
             0.5, "tabular-list")
    work.list_first(SURVEILLANCE)


FOLLOW_UP = "Z09"


_AFTER = re.compile(r"\b(?:after|following|post|tras|despu[eé]s de)\b(?:[^\S\n]+[^\s.;]+){0,6}[^\S\n]*$",
                    re.IGNORECASE)  # "seen 4 wk after admission for [LLL pneumonia]"


def follow_up_after_treatment(work: Worklist) -> None:
    """Z09 for a follow-up visit after a condition's treatment ended (I.C.21.c.8), listed first: the visit's title
    says follow-up and the note codes only history and status codes, one of them the personal history of the
    condition ("Telehealth f/u ... pneumonia, resolved" Z09, Z87.01). A malignancy's is Z08."""
    text = work.analysis.text
    language = work.analysis.language
    title = text[: title_end(text)]
    pattern = _FOLLOW_UP_TITLE.get(language)
    coded = [e.code for e in work.coded()]
    if pattern is None or not pattern.search(title) or not coded:
        return
    if any(c.startswith(("Z00", "Z01", "Z08", "Z09", "Z12", "Z3", "Z4", "Z51", "Z85")) for c in coded):
        return
    history = [e for e in work.coded() if e.code.startswith(("Z86", "Z87")) and e.code != "Z87.891"]
    # Other conditions coded beside it: the visit is still this follow-up when its title names the treated condition
    # ("Pulmonary clinic f/u ... 4 wk after admission for pneumonia"); a current long-term drug (Z79) alone says the
    # treatment goes on.
    titled = [e for e in history if any(a < len(title) and _AFTER.search(text, max(0, a - 60), a) for a, _ in e.spans)]
    if not history or any(c[0] != "Z" or c.startswith("Z79") for c in coded) and not titled:
        return
    history = titled or history
    work.add(FOLLOW_UP, list(history[0].suggestion.evidence), "encounter",
             f"a follow-up visit after the treatment of what {history[0].code} records ended: "
             f"{work.tabular.description(FOLLOW_UP)}", 0.5, "tabular-list")
    work.list_first(FOLLOW_UP)


JOINT_AFTERCARE = "Z47.1"
_POST_OP_VISIT = {
    "en": re.compile(r"\b(?:post-?op(?:erative)? (?:visit|check|f/u|follow-?up|day \d+)|\d+\s*(?:wks?|weeks?|days?|d)\s+"
                     r"(?:s/p|post-?op|after)|staples? (?:out|removed)|sutures? (?:out|removed)|incision (?:healed|healing|"
                     r"c/d/i|clean))\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:postoperatorio|\d+\s*(?:d[ií]as|semanas)\s+tras|revisi[oó]n a (?:las|los) \d+ (?:semanas|d[ií]as)|"
                     r"se retiran (?:las )?(?:grapas|puntos)|"
                     r"retirada de (?:grapas|puntos)|herida (?:limpia|quir[uú]rgica))\b", re.IGNORECASE),
}
_OSTEOARTHRITIS = ("M15", "M16", "M17", "M19")


def joint_replacement_aftercare(work: Worklist) -> None:
    """Z47.1, aftercare following joint replacement surgery (I.C.21.c.7), for a visit after the operation: the joint
    status code (Z96.6-) goes with it, and the arthritis the joint was replaced for is gone (not coded)."""
    found = in_language(_POST_OP_VISIT, work)
    joints = [e for e in work.coded() if e.code.startswith("Z96.6")]
    if found is None or not joints or any(e.code.startswith(("Z47", "T84")) for e in work.coded()):
        return
    work.add(JOINT_AFTERCARE, [Span(start=found.start(), end=found.end(), text=found.group())], "encounter",
             f"'{found.group()}' after a joint replacement: {work.tabular.description(JOINT_AFTERCARE)}", 0.5,
             "tabular-list")
    work.list_first(JOINT_AFTERCARE)
    for entry in work.coded():
        if entry.code.startswith(_OSTEOARTHRITIS) and any(work.same_sentence(entry.spans, j.spans) for j in joints):
            work.absorb(entry.code, JOINT_AFTERCARE, "encounter", "the joint the arthritis was in has been replaced")
        elif entry.code.startswith(("R52", "G89.18", "M25.55", "M25.56")):
            work.absorb(entry.code, JOINT_AFTERCARE, "integral symptom", "the pain of the healing operation")


def planned_removal(work: Worklist) -> None:
    """"Suture removal in 10-14 d" at the visit that treats the injury is a plan: the encounter for removing sutures or
    dressings (Z48.0-) is a later visit's code, never one beside the injury's initial encounter."""
    if not any(e.code[0] in "ST" and len(e.code) == 8 and e.code.endswith("A") for e in work.coded()):
        return
    for entry in work.coded():
        if entry.code.startswith("Z48.0"):
            work.demote(entry.code, "encounter", "the injury is treated at this visit: the removal is planned")


_PREPROCEDURAL = {
    "en": re.compile(r"\b(?:pre-?op(?:erative)?|pre-?procedur(?:e|al)|pre-?surgical|pre-?anesthe\w*)\s+(?:cardiac\s+|"
                     r"cardiology\s+|medical\s+|surgical\s+)?(?:eval\w*|clearance|h\s?&\s?p|history and physical|"
                     r"assessment|consult\w*|exam\w*|visit|risk (?:assessment|stratification))|"
                     r"\b(?:surgical|cardiac|cardiology) clearance\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:valoraci[oó]n|evaluaci[oó]n|consulta|estudio|visita|revisi[oó]n)\s+(?:pre-?operatori[oa]|"
                     r"preanest[eé]sic[oa]|prequir[uú]rgic[oa])\b|\bpreanestesia\b", re.IGNORECASE),
}
_CARDIAC = re.compile(r"\bcardi(?:ac|ology|olog[ií]a|ol[oó]gic[oa])\b", re.IGNORECASE)
_PLANNED = re.compile(r"\b(?:scheduled|planned|elective|upcoming|candidate for|programad[oa]|prevista|previsto|"
                      r"pendiente de)\b", re.IGNORECASE)
PREPROCEDURAL_EXAM, CARDIOVASCULAR_EXAM = "Z01.818", "Z01.810"


def preprocedural_exam(work: Worklist) -> None:
    """A pre-operative evaluation or clearance is an encounter for a preprocedural examination, listed first (I.C.21.
    c.13, Z01.81-): Z01.810 when a cardiologist or a cardiac evaluation gives it, else Z01.818. The conditions found
    follow it; the planned operation's status code (the joint to be replaced) is not yet the patient's."""
    text = work.analysis.text
    found = in_language(_PREPROCEDURAL, work)
    if found is None or any(e.code.startswith("Z01.81") for e in work.coded()):
        return
    left, right = work.analysis.sentences.sentence_bounds(found.start(), found.end())
    code = CARDIOVASCULAR_EXAM if _CARDIAC.search(text, left, right) else PREPROCEDURAL_EXAM
    work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], "encounter",
             f"'{found.group()}': {work.tabular.description(code)}", 0.5, "tabular-list")
    work.list_first(code)
    for entry in work.coded():
        if entry.code.startswith(("Z96", "Z95", "Z90", "Z89", "Z98")) and all(
                _PLANNED.search(text, *work.analysis.sentences.sentence_bounds(a, b)) for a, b in entry.spans):
            work.demote(entry.code, "encounter", "the operation is planned: its status code is not yet the patient's")
