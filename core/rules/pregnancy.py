"""Pregnancy (ICD-10-CM I.C.15): a condition of a pregnant patient complicates the pregnancy unless the provider says
it is incidental, and is reported with its chapter 15 code first; a chapter 15 code carries the trimester the weeks
of gestation give (or "in childbirth" when the patient delivered), gestational diabetes its control (diet, insulin,
oral drug), and the weeks of gestation go beside it (Z3A)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.kb.tabular import Tabular
from core.nlp.status_codes import status_matches
from core.rules.worklist import Worklist, affirmed, excluded_by
from core.schema import Span
from core.settings import PROJECT_ROOT

PREGNANCY_FILE = PROJECT_ROOT / "data" / "conventions" / "pregnancy.toml"
RULE = "pregnancy"

# The patient is pregnant now: "G2P1 at 28w2d", "prenatal visit", "IUP", "gestante", "embarazada de 22 semanas". An
# obstetric history ("G3P3", "dos embarazos previos", "tras el embarazo") is no current pregnancy.
_PREGNANT = {
    "en": re.compile(r"(?<!prior )(?<!previous )(?<!last )(?<!past )(?<!of )\b(?:pregnant|pregnancy(?! test)|IUP|prenatal|"
                     r"antenatal|OB (?:visit|clinic)|gestational age|\d{1,2}\s*w\s*[0-6]\s*d|weeks?'? (?:of )?gestation|"
                     r"(?:first|second|third|1st|2nd|3rd) trimester|L&D)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:gestante|(?:est[aá] )?embarazada de \d|est[aá] embarazada|cursando (?:un )?embarazo|"
                     r"embarazo (?:actual|en curso|de \d)|\d{1,2}\s*\+\s*[0-6]\s*semanas|semanas de (?:gestaci[oó]n|"
                     r"embarazo|amenorrea)|edad gestacional|(?:primer|segundo|tercer) trimestre|primigesta|secundigesta)\b", re.IGNORECASE),
}
# A visit after a delivery of an earlier stay: its conditions complicate the puerperium (O99.285, O90.81).
_PUERPERAL_VISIT = {
    "en": re.compile(r"\bpost-?partum (?:visit|check|f/u|follow-?up|clinic)\b|\bday \d+ (?:after|post|s/p) (?:N?SVD|"
                     r"(?:vaginal |cesarean )?delivery|c-section|cesarean)\b|\b\d+ (?:days?|d|wks?|weeks?) (?:post-?partum|"
                     r"after (?:delivery|N?SVD|c-section))\b", re.IGNORECASE),
    "es": re.compile(r"\bpu[eé]rpera\b|\bd[ií]a \+?\d+ (?:tras|despu[eé]s de|post) (?:el |la )?(?:parto|ces[aá]rea)\b|"
                     r"\brevisi[oó]n (?:del )?puerperio\b", re.IGNORECASE),
}
# A delivery of an earlier pregnancy: "prior low transverse C-section x1 (2021)", "cesárea anterior".
_PRIOR_WORDS = r"prior|previous|hx of|h/o|history of|s/p"
_PRIOR = re.compile(rf"\b(?:{_PRIOR_WORDS})\b[^.;\n]*$", re.IGNORECASE)
_PREVIOUS_CESAREAN = {
    "en": re.compile(rf"\b(?:{_PRIOR_WORDS})\s+(?:(?:\w+|x\d)\s+){{0,3}}?(?:c-section|cesarean"
                     r"(?: section| delivery)?|CS)\b", re.IGNORECASE),
    "es": re.compile(r"\bces[aá]rea (?:\w+ )?(?:previa|anterior)\b|\b(?:antecedente de|previa|anterior)\s+(?:\w+\s+)?"
                     r"ces[aá]rea\b|\bcesareada\b", re.IGNORECASE),
}
PUERPERIUM = 5  # in the place of a trimester: the state a complication code takes after the delivery
_MULTIPLE = re.compile(r"\b(?:twins?|triplets?|quadruplets?|multiple gestation|di[- ]?di|mo[- ]?di|gemelar\w*|"
                       r"gemel[oa]s|trillizos|m[uú]ltiple)\b", re.IGNORECASE)
# A note about a baby gives its gestational age at birth, not a pregnancy of the patient.
_NEWBORN = re.compile(r"\b(?:newborn|neonat\w*|born at|reci[eé]n nacido (?:pret[eé]rmino|a t[eé]rmino)|RN pret[eé]rmino|"
                      r"nacid[oa] (?:a las|de|en la semana))\b", re.IGNORECASE)
_INCIDENTAL = re.compile(r"\bincidental\b", re.IGNORECASE)
_DELIVERED = {
    "en": re.compile(r"\b(?:delivered|N?SVD|c-section|cesarean (?:section|delivery)|live ?born|live birth|gave birth|"
                     r"postpartum day)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:parto (?:eut[oó]cico|vaginal|instrumental)|ces[aá]rea|dio a luz|reci[eé]n nacido vivo|"
                     r"RN vivo)\b", re.IGNORECASE),
}
# Weeks written the way obstetric notes write them: "28w2d", "30+2 semanas", "IUP 33 wks", "primigesta, 22 semanas".
_WEEKS = {
    "en": (re.compile(r"\b(\d{1,2})\s*w(?:ks?)?\s*[0-6]\s*d\b", re.IGNORECASE),
           re.compile(r"\b(?:IUP|EGA|GA)\s*(?:at|of|=|:)?\s*(\d{1,2})(?:\+[0-6])?\s*(?:wks?|weeks?)\b", re.IGNORECASE),
           re.compile(r"\b(?:at|is)\s+(\d{1,2})(?:\+[0-6])?\s*(?:wks?|weeks?)(?!\s+(?:ago|postpartum))\b(?=[^.\n]*"
                      r"(?:G\d|gestation|pregnan|IUP))|(?<=G\dP\d{4} at )(\d{1,2})\s*(?:wks?|weeks?)", re.IGNORECASE)),
    "es": (re.compile(r"\b(\d{1,2})\s*\+\s*[0-6]\s*(?:semanas|sem\b|SG\b)|\bsem(?:ana)?\s+(\d{1,2})\s*\+\s*[0-6]\b",
                      re.IGNORECASE),
           re.compile(r"\b(?:gestante|embarazada|primigesta|secundigesta|G\d+\s*P\d+|EG)\b[^.\n]{0,40}?\b(\d{1,2})"
                      r"\s*(?:semanas|SG)\b", re.IGNORECASE)),
}
_TRIMESTER_WORDS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "primer": 1, "segundo": 2,
                    "tercer": 3}
_STATED_TRIMESTER = re.compile(r"\b(first|1st|second|2nd|third|3rd)\s+trimester\b|\b(primer|segundo|tercer)\s+"
                               r"trimestre\b", re.IGNORECASE)
_CONTROL = {
    "0": re.compile(r"\bdiet[- ]?control\w*|\bdiet(?:/exercise)? (?:alone|only)\b|\bcontrolad[ao] con dieta\b|"
                    r"\bcon dieta\b|\bno meds\b", re.IGNORECASE),
    "4": re.compile(r"\b(?:insulin\w*|NPH|glargine|lispro|aspart|detemir|insulina)\b", re.IGNORECASE),
    "5": re.compile(r"\b(?:metformin\w*|glyburide|glibenclamid\w*|metformina)\b", re.IGNORECASE),
}
_CONTROL_TITLE = {"0": "diet controlled", "4": "insulin controlled", "5": "controlled by oral hypoglycemic drugs"}
_STATE = re.compile(r",?\s*(?:(first|second|third|unspecified) trimester|(?:in|complicating) (pregnancy|childbirth|"
                    r"the puerperium))", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Complication:
    prefixes: tuple[str, ...]
    subcategory: str
    keep: bool


@lru_cache(maxsize=1)
def _complications(path: Path = PREGNANCY_FILE) -> tuple[_Complication, ...]:
    with path.open("rb") as handle:
        rows = tomllib.load(handle)["complicated_by"]
    return tuple(_Complication(tuple(r["codes"]), r["subcategory"], r.get("keep", True)) for r in rows)


def _weeks(text: str, language: str) -> tuple[int, Span | None]:
    for match in status_matches(text, language):
        if match.code.startswith("Z3A."):
            return int(match.code[4:]), Span(start=match.start, end=match.end, text=text[match.start:match.end])
    for pattern in _WEEKS.get(language, ()):
        found = pattern.search(text)
        if found:
            group = next(i for i in range(1, (pattern.groups or 0) + 1) if found.group(i))
            return int(found.group(group)), Span(start=found.start(), end=found.end(), text=found.group())
    return 0, None


def _trimester(weeks: int, text: str) -> int:
    """The weeks of gestation give the trimester; a trimester word only where no weeks are written ("16+2 semanas
    según ecografía del primer trimestre" is the second trimester)."""
    if weeks:
        return 1 if weeks < 14 else 2 if weeks < 28 else 3
    stated = _STATED_TRIMESTER.search(text)
    return _TRIMESTER_WORDS[(stated.group(1) or stated.group(2)).lower()] if stated else 0


def _key(title: str) -> str:
    return re.sub(r"\s+", " ", _STATE.sub("", title.lower().replace(",", ""))).strip()


def _state(title: str) -> str:
    found = [(m.group(1) or m.group(2) or "").lower() for m in _STATE.finditer(title)]
    for word in found:
        if word in ("first", "second", "third", "unspecified", "childbirth", "the puerperium"):
            return word
    return "pregnancy" if found else ""


def _control_of(title: str) -> str:
    low = title.lower()
    return next((c for c in (*_CONTROL_TITLE.values(), "unspecified control") if c in low), "")


def _variant(code: str, trimester: int, delivered: bool, control: str, tabular: Tabular) -> str:
    """The leaf of ``code``'s family with the trimester (or childbirth) and the control the note gives; the trimester
    or control the code already names stays."""
    title = tabular.description(code)
    state, own_control = _state(title), _control_of(title)
    if state in ("", "the puerperium"):
        return code
    by_trimester = {1: "first", 2: "second", 3: "third", PUERPERIUM: "the puerperium"}.get(trimester, "")
    wanted = [s for s in ("childbirth" if delivered else "", by_trimester) if s]  # a code with no childbirth leaf
    states = [*wanted, state] if wanted and state in ("unspecified", "pregnancy") else [state]  # takes the trimester
    controls = [_CONTROL_TITLE[control], own_control] if control and own_control == "unspecified control" \
        else [own_control]
    base = _key(title.lower().replace(own_control, "")) if own_control else _key(title)
    family: dict[tuple[str, str], str] = {}
    for leaf in tabular.billable_descendants(code[:5]):
        leaf_title = tabular.description(leaf)
        leaf_control = _control_of(leaf_title)
        if (_key(leaf_title.lower().replace(leaf_control, "")) if leaf_control else _key(leaf_title)) == base:
            family.setdefault((_state(leaf_title), leaf_control), leaf)
    for wanted_control in controls:
        for wanted_state in states:
            if (wanted_state, wanted_control) in family:
                return family[(wanted_state, wanted_control)]
    return code


def pregnancy(work: Worklist) -> None:
    """The chapter 15 codes of a note about a pregnant patient: conditions complicating the pregnancy, each chapter 15
    code's trimester, childbirth or diabetes control, and the weeks of gestation."""
    language = work.analysis.language
    text = work.analysis.text
    pregnant = _PREGNANT.get(language)
    found = affirmed(pregnant, text) if pregnant is not None else None
    puerperal = _PUERPERAL_VISIT[language].search(text) if language in _PUERPERAL_VISIT else None
    if found is None and puerperal is None or _NEWBORN.search(text):
        return
    found = found or puerperal
    if stated := _INCIDENTAL.search(text):  # a visit for something else: the pregnancy is a state (Z33.1)
        left, right = work.analysis.sentences.sentence_bounds(stated.start(), stated.end())
        if not any(e.code.startswith("O") for e in work.coded()) and re.search(
                r"pregnan|embaraz|gestaci", text[left:right], re.IGNORECASE):
            work.add("Z33.1", [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
                     "the provider says the pregnancy is incidental to the visit: Pregnant state, incidental "
                     "(I.C.15.a.1)", 0.5, "tabular-list")
        return
    weeks, weeks_span = _weeks(text, language)
    trimester = _trimester(weeks, text)
    delivered = any(work.analysis.assertion_of(m.start(), m.end())[0] == "present" and not _PRIOR.search(
        text, max(0, m.start() - 40), m.start()) for m in _DELIVERED[language].finditer(text)) \
        or any(e.code.startswith("Z37") for e in work.coded())
    if puerperal is not None:  # the delivery was at an earlier stay: no trimester, no outcome, no weeks
        trimester, delivered, weeks_span = PUERPERIUM, False, None
    control = next((c for c in ("4", "5", "0") if affirmed(_CONTROL[c], text)), "")
    _superimposed_preeclampsia(work, trimester, delivered)
    _complicating_conditions(work, trimester, delivered)
    if not _MULTIPLE.search(text):
        for entry in work.coded():  # "IUP" read as a pregnancy code: a multiple gestation needs its words
            if entry.code.startswith(("O30", "O31")):
                work.demote(entry.code, RULE, "the note names no twins or other multiple gestation")
    for entry in list(work.coded()):
        if not entry.code.startswith("O"):
            continue
        code = _variant(entry.code, trimester, delivered, control, work.tabular)
        if code != entry.code and work.tabular.is_billable(code):
            work.add(code, list(entry.suggestion.evidence), RULE, f"{work.tabular.description(code)}: the note gives "
                     + ("the delivery" if delivered else f"week {weeks}" if weeks else "the trimester")
                     + (" and the treatment" if control else ""), entry.suggestion.score, "tabular-list")
            work.absorb(entry.code, code, "one condition, one code", f"{code} names the trimester or treatment")
    named = [e for e in work.coded() if "O00" <= e.code[:3] <= "O9A" and not e.code.startswith("O26.9")]
    for entry in work.coded():  # "pregnancy complicated by pre-existing HTN": the complication is the code
        if entry.code.startswith("O26.9") and named:
            work.absorb(entry.code, named[0].code, "one condition, one code", f"{named[0].code} names the complication")
    if not delivered and puerperal is None:
        _previous_cesarean(work)
        _normal_pregnancy(work, trimester)
    elif delivered:
        _normal_delivery(work, weeks)
    obstetric = [e for e in work.coded() if "O09" <= e.code[:3] <= "O9A" or e.code.startswith("Z34")]
    if obstetric and weeks_span is not None and 8 <= weeks <= 42 and not any(e.code.startswith("Z3A")
                                                                              for e in work.coded()):
        code = f"Z3A.{weeks:02d}"
        if work.tabular.is_billable(code):
            work.add(code, [weeks_span], RULE, f"'{weeks_span.text}': {work.tabular.description(code)} beside the "
                     "pregnancy's codes (I.C.15.b.4)", 0.5, "status-rule")
    if delivered and obstetric:
        _outcome_of_delivery(work)
    insulin_controlled = next((e.code for e in work.coded() if e.code.startswith("O24.4") and e.code[-1] == "4"), "")
    if insulin_controlled:  # the insulin of a gestational diabetes is in O24.414: no Z79.4 (I.C.15.g)
        work.absorb("Z79.4", insulin_controlled, "one condition, one code", "gestational diabetes controlled by insulin")


# A prenatal visit the note calls routine, normal or uncomplicated: supervision of a normal pregnancy (Z34), first
# pregnancy (G1, primigravida) Z34.0-, else Z34.8-, with the trimester.
_ROUTINE_PRENATAL = {
    "en": re.compile(r"\b(?:uncomplicated|normal|low[- ]risk|routine)\s+(?:intrauterine\s+)?(?:pregnancy|IUP|prenatal"
                     r"|OB visit)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:embarazo|gestaci[oó]n)\s+(?:normoevolutiv[oa]|de curso normal|sin incidencias|de bajo "
                     r"riesgo|normal)\b|\bcontrol (?:rutinario )?(?:de embarazo|prenatal|gestacional) (?:normal|sin "
                     r"incidencias)\b", re.IGNORECASE),
}
_FIRST_PREGNANCY = re.compile(r"\bG1\s*P0|\bprimigravida\b|\bprimigesta\b|\bfirst pregnancy\b|\bprimer embarazo\b",
                              re.IGNORECASE)
_GRAVIDA = re.compile(r"\bG([2-9])\s*P\d|\b(?:multigravida|secundigesta|tercigesta|multigesta)\b", re.IGNORECASE)


def _previous_cesarean(work: Worklist) -> None:
    """A pregnancy after a cesarean delivery: maternal care for the uterine scar (O34.21-), by the incision's type."""
    text = work.analysis.text
    found = _PREVIOUS_CESAREAN[work.analysis.language].search(text)
    if found is None or any(e.code.startswith("O34.2") for e in work.coded()):
        return
    near = text[max(0, found.start() - 40) : found.end() + 40]
    kind = "1" if re.search(r"low transverse|\bLTCS\b|segmentaria|transversa", near, re.IGNORECASE) else \
        "2" if re.search(r"classical|vertical|cl[aá]sica|corporal", near, re.IGNORECASE) else "9"
    code = f"O34.21{kind}"
    work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
             f"'{found.group()}': {work.tabular.description(code)}", 0.5, "tabular-list")


def _normal_pregnancy(work: Worklist, trimester: int) -> None:
    """A routine prenatal visit with nothing complicating the pregnancy coded is its supervision (I.C.15.b.1)."""
    found = _ROUTINE_PRENATAL[work.analysis.language].search(work.analysis.text)
    if found is None or any(e.code.startswith(("O", "Z34")) for e in work.coded()):
        return
    text = work.analysis.text
    kind = "0" if _FIRST_PREGNANCY.search(text) else "8" if _GRAVIDA.search(text) else "9"
    code = f"Z34.{kind}{trimester or 0}"
    if work.tabular.is_billable(code):
        work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
                 f"'{found.group()}': {work.tabular.description(code)} (I.C.15.b.1)", 0.5, "tabular-list")
        work.list_first(code)


# A full-term delivery the note calls normal, spontaneous or uncomplicated (I.C.15.n.1).
_NORMAL_DELIVERY = {
    "en": re.compile(r"\b(?:N?SVD|(?:uncomplicated|normal|spontaneous)\s+(?:spontaneous\s+)?vaginal\s+(?:delivery|birth))\b",
                     re.IGNORECASE),
    "es": re.compile(r"\bparto (?:eut[oó]cico|vaginal (?:espont[aá]neo|eut[oó]cico|normal|sin complicaciones))\b",
                     re.IGNORECASE),
}
_INTERVENED = re.compile(r"\b(?:forceps|f[oó]rceps|vacuum|vent[oó]sa|c-section|cesarean|ces[aá]rea|episiotom\w*|"
                         r"laceration|desgarro|breech|nalgas|induc\w+)\b", re.IGNORECASE)


def _normal_delivery(work: Worklist, weeks: int) -> None:
    """O80 for a full-term spontaneous vaginal delivery of a single liveborn with nothing complicating it coded and
    no instrument, laceration or induction named (I.C.15.n.1); its outcome and weeks follow as for any delivery."""
    text = work.analysis.text
    found = _NORMAL_DELIVERY[work.analysis.language].search(text)
    if found is None or not 37 <= (weeks or 39) <= 41 or _MULTIPLE.search(text) or _STILLBORN.search(text) or \
            any(e.code.startswith("O") for e in work.coded()) or any(
            work.analysis.assertion_of(m.start(), m.end())[0] == "present" for m in _INTERVENED.finditer(text)):
        return
    work.add("O80", [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
             f"'{found.group()}': a full-term delivery with no complication coded, {work.tabular.description('O80')}"
             " (I.C.15.n.1)", 0.5, "tabular-list")
    work.list_first("O80")


_PREECLAMPSIA = re.compile(r"\bpre-?ecl[aá]mpsia\b", re.IGNORECASE)
_PRE_EXISTING = ("I10", "I11", "I12", "I13", "I15")


def _superimposed_preeclampsia(work: Worklist, trimester: int, delivered: bool) -> None:
    """Pre-eclampsia in a patient whose hypertension predates the pregnancy is O11 (Pre-existing hypertension with
    pre-eclampsia) with the O10 code of that hypertension beside it (O11's "use additional code from O10"), not
    O14 beside I10."""
    hypertension = next((e for e in work.coded() if e.code.startswith(_PRE_EXISTING)), None)
    preeclampsia = next((e for e in work.coded() if e.code.startswith("O14")), None)
    said = affirmed(_PREECLAMPSIA, work.analysis.text)
    row = next((r for r in _complications() if hypertension and hypertension.code.startswith(r.prefixes)), None)
    if hypertension is None or row is None or (preeclampsia is None and said is None):
        return
    state = "4" if delivered else str(trimester) if trimester else "9"
    combined = f"O11.{state}"
    own = f"{row.subcategory[:5]}2" if delivered else f"{row.subcategory}{trimester or 9}"  # O10.02 / O10.013
    if not (work.tabular.is_billable(combined) and work.tabular.is_billable(own)):
        return
    evidence = [*(preeclampsia.suggestion.evidence if preeclampsia else [Span(start=said.start(), end=said.end(),
                                                                                text=said.group())])]
    work.add(combined, evidence, RULE, f"Hypertension, complicating pregnancy, pre-existing, with pre-eclampsia → "
             f"{combined}: {work.tabular.description(combined)}", hypertension.suggestion.score, "index-navigator")
    work.add(own, list(hypertension.suggestion.evidence), RULE, f"{combined}'s notes ask for the type of "
             f"hypertension: {work.tabular.description(own)}", hypertension.suggestion.score, "tabular-list")
    work.list_first(own)
    work.list_first(combined)
    for entry in (hypertension, preeclampsia):
        if entry is not None:
            work.absorb(entry.code, combined if entry is preeclampsia else own, "with",
                        "the pre-eclampsia is superimposed on the hypertension that predates the pregnancy")


def _complicating_conditions(work: Worklist, trimester: int, delivered: bool) -> None:
    """Each condition of the pregnant patient gets the chapter 15 code the table gives, trimester read from the note."""
    for entry in list(work.coded()):
        if entry.code[0] in "OZRVWXY" or entry.code[0] == "T" and entry.code[6:7] in ("5", "6") \
                or entry.only("historical"):
            continue  # an adverse effect or underdosing is no injury complicating the pregnancy (O9A.2)
        row = next((r for r in _complications() if entry.code.startswith(r.prefixes)), None)
        if row is None or any(excluded_by(entry.code, o.code, work.tabular) or excluded_by(o.code, entry.code,
                                                                                          work.tabular)
                              for o in work.coded() if o.code.startswith("O")):
            continue  # the gestational diabetes the note codes is its diabetes
        code = _complication_code(row.subcategory, trimester, delivered, work.tabular)
        if not code or code in work.entries and work.entries[code].coded:
            continue
        work.add(code, list(entry.suggestion.evidence), RULE, f"Pregnancy, complicated by ({entry.code}) → {code}: "
                 f"{work.tabular.description(code)}", entry.suggestion.score, "index-navigator")
        work.list_first(code)  # chapter 15 codes are sequenced first (I.C.15.a.1)
        if not row.keep:
            work.absorb(entry.code, code, "with", f"{code} names the condition in pregnancy")


def _complication_code(subcategory: str, trimester: int, delivered: bool, tabular: Tabular) -> str:
    leaves = tabular.billable_descendants(subcategory)
    if not leaves:
        return ""
    unspecified = next((c for c in leaves if "unspecified trimester" in tabular.description(c).lower()), leaves[-1])
    return _variant(unspecified, trimester, delivered, "", tabular)


_STILLBORN = re.compile(r"\b(?:stillb\w+|fetal demise|IUFD|muerte fetal|[oó]bito fetal|mortinato)\b", re.IGNORECASE)


def _outcome_of_delivery(work: Worklist) -> None:
    """The outcome of a delivery on the mother's record (I.C.15.b.5): Z37.0 for a single liveborn, Z37.2 for twins
    both liveborn; a stillbirth is left to the coder. A delivery the note dates to the past is no outcome now."""
    text = work.analysis.text
    found = next((m for m in _DELIVERED[work.analysis.language].finditer(text)
                  if work.analysis.assertion_of(m.start(), m.end())[0] == "present"), None)
    if found is None or _STILLBORN.search(text) or any(e.code.startswith("Z37") for e in work.coded()):
        return
    code = "Z37.2" if _MULTIPLE.search(text) else "Z37.0"
    work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], RULE,
             f"'{found.group()}': {work.tabular.description(code)} (I.C.15.b.5)", 0.5, "tabular-list")
