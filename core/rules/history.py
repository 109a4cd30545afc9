"""Convention rules about what the note says of a condition: past or present, the patient's or a relative's, certain
or not, a symptom of a coded diagnosis or not, and the status codes its treatments and devices give."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from core.candidates.navigator import IndexNavigator
from core.nlp.assertion import NOT_CODED
from core.rules.worklist import Entry, Worklist
from core.schema import Span
from core.settings import PROJECT_ROOT

SYMPTOMS_FILE = PROJECT_ROOT / "data" / "conventions" / "symptoms.toml"
WEIGHT_DIAGNOSES = ("E66", "E44", "E45", "E46", "E43", "R63.6", "E41", "E40", "E42", "R63.4", "R62.7")
BMI = "Z68."
INSULIN, TYPE_1 = "Z79.4", "E10"
# Where a note says the patient is seen as an outpatient (probable / suspected conditions are then not coded as
# established: the symptom is, Section IV.H) or admitted (they are, Section II.H).
_OUTPATIENT = re.compile(r"\b(?:office visit|clinic visit|outpatient|urgent care|telehealth|follow-up visit|"
                         r"consulta externa|ambulatori[oa]|atenci[oó]n primaria|centro de salud)\b", re.IGNORECASE)
_INPATIENT = re.compile(r"\b(?:admitted|admission|inpatient|discharge diagnos[ie]s|hospital course|"
                        r"ingres[oó]|ingreso|al alta|diagn[oó]sticos? al alta)\b", re.IGNORECASE)


def history_and_family(work: Worklist, navigator: IndexNavigator | None,
                       winning: dict[tuple[int, int], list[str]] | None = None) -> None:
    """A condition the note gives only as the patient's past ("history of stroke", "former smoker", "s/p colectomy
    for colon cancer") is coded with its History, personal Z code (Z86.73, Z87.891, Z85.038) or the code the index
    gives (old MI → I25.2), not as current; a condition named only for a relative gets its History, family code
    (Z80.3, Z82.49, Z83.3). A chronic condition listed as history has no such entry and stays current."""
    if navigator is None:
        return
    for entry in list(work.entries.values()):
        if entry.absorbed_by:
            continue
        if entry.only("historical", "negated") and "historical" in entry.assertions or _in_history_section(work, entry):
            kind = "personal"  # "history of DVT ...; no current thrombosis", "PMH: stroke 2019"
        elif entry.only("family") and work.policy != "codiesp":
            kind = "family"
        else:
            continue
        if entry.code.startswith("Z"):
            if kind == "personal" and not entry.coded and work.codable(entry) and winning is not None and any(
                    codes[:1] == [entry.code] for span, codes in winning.items() if span in entry.spans):
                work.promote(entry.code, "history", "a status or history code the note's own words name")
            continue
        found = navigator.history_code(kind, work.condition(entry), work.tabular)
        if found is None:
            continue
        work.add(found.code, list(entry.suggestion.evidence), f"{kind} history", found.rationale,
                 entry.suggestion.score, "index-navigator")
        if entry.coded:
            work.absorb(entry.code, found.code, f"{kind} history", "the condition is not current")


def _in_history_section(work: Worklist, entry: Entry) -> bool:
    """All of the evidence lies in a past-history section ("PMH:", "Antecedentes personales:"): a condition listed
    there is current when it is chronic (it has no History, personal entry) and past when the index has one."""
    sections = [work.analysis.section_at(s).kind for s, _ in entry.spans]
    return bool(sections) and all(kind == "history" for kind in sections) and "present" in entry.assertions


def status_codes(work: Worklist) -> None:
    """Status codes the note states (long-term insulin Z79.4, anticoagulants Z79.01, dialysis Z99.2, allergy Z88.0,
    BMI Z68.-) are coded when the sentence says the patient has them; BMI only with a weight diagnosis it supports
    (I.B.14), and no Z79.4 with type 1 diabetes, where insulin is part of the disease."""
    analysis = work.analysis
    tabular = work.tabular
    for found in analysis.status:
        assertion, _ = analysis.assertion_of(found.start, found.end)
        if assertion in NOT_CODED or not tabular.is_billable(found.code):
            continue
        text = analysis.text[found.start : found.end]
        work.add(found.code, [Span(start=found.start, end=found.end, text=text)], "status",
                 f"status read from '{text}'", 0.5, "status-rule")
    coded = work.coded()
    weight = any(e.code.startswith(WEIGHT_DIAGNOSES) for e in coded)
    type_1 = any(e.code.startswith(TYPE_1) for e in coded)
    for entry in coded:
        if entry.code.startswith(BMI) and not weight:
            work.demote(entry.code, "BMI", "a BMI is coded only with the weight diagnosis it supports")
        elif entry.code == INSULIN and type_1:
            work.demote(entry.code, "drug therapy", "insulin is part of type 1 diabetes (no Z79.4)")


SEVERE_SEPSIS = "R65.2"
SYSTEMIC_INFECTIONS = ("A40", "A41", "A02.1", "A22.7", "A26.7", "A32.7", "A42.7", "A54.86", "B37.7", "A39.2",
                       "A39.3", "A39.4", "O85", "T81.4", "P36")


def sepsis(work: Worklist) -> None:
    """Severe sepsis or septic shock (R65.2-) is never the first or only code: the systemic infection is coded
    first, and without an organism named that is sepsis, unspecified organism (A41.9) (I.C.1.d)."""
    coded = work.coded()
    severe = [e for e in coded if e.code.startswith(SEVERE_SEPSIS)]
    if not severe or any(e.code.startswith(SYSTEMIC_INFECTIONS) for e in coded):
        return
    work.add("A41.9", list(severe[0].suggestion.evidence), "sepsis",
             "severe sepsis or septic shock: the systemic infection is coded first (organism not named)",
             severe[0].suggestion.score, "tabular-list")


def readings(work: Worklist) -> None:
    """The stage, type and acuity the note gives around a condition (CKD 3b, acute on chronic HFrEF) make its most
    specific code; the codes of the same condition found in fewer words give way to it."""
    analysis = work.analysis
    for reading in analysis.readings:
        assertion, _ = analysis.assertion_of(reading.start, reading.end)
        if assertion in NOT_CODED or (work.policy != "codiesp" and assertion == "historical"):
            continue
        text = analysis.text[reading.start : reading.end]
        entry = work.add(reading.code, [Span(start=reading.start, end=reading.end, text=text)], "specificity",
                         f"read {reading.what} around '{text}'", 0.5, "reading")
        for other in work.coded():
            if other is not entry and other.code[:3] == reading.code[:3] and other.code != reading.code and any(
                    s < reading.end and reading.start < e for s, e in other.spans):
                work.absorb(other.code, reading.code, "one condition, one code", f"the note gives {reading.what}")


def uncertain(work: Worklist) -> None:
    """In an outpatient note, a condition written only as probable or suspected is not coded as established."""
    text = work.analysis.text
    if not _OUTPATIENT.search(text) or _INPATIENT.search(text):
        return
    for entry in list(work.coded()):
        if entry.only("possible"):
            work.demote(entry.code, "uncertain diagnosis", "outpatient: only the symptoms of a suspected condition")


@lru_cache(maxsize=2)
def _integral(path: Path = SYMPTOMS_FILE) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    with path.open("rb") as handle:
        groups = tomllib.load(handle).get("integral", [])
    return tuple((tuple(g.get("diagnoses", [])), tuple(g.get("symptoms", []))) for g in groups)


def integral_symptoms(work: Worklist) -> None:
    """Signs and symptoms that are routine parts of a coded diagnosis are not coded in addition (I.B.4, I.B.5):
    cough and fever with pneumonia, dysuria with a urinary tract infection, chest pain with an NSTEMI."""
    coded = work.coded()
    for entry in coded:
        for diagnoses, symptoms in _integral():
            if not entry.code.startswith(symptoms) or not symptoms:
                continue
            cause = next((d for d in coded if d is not entry and d.code.startswith(diagnoses) and diagnoses), None)
            if cause is not None:
                work.absorb(entry.code, cause.code, "integral symptom",
                            f"a routine sign of {cause.code} ({work.tabular.description(cause.code)})")
                break
