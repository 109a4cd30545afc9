"""Single words that name a body part or a kind of problem, not a condition ("Renal diet", "bone", "disease",
"transplant"): a code read from one of them alone is left for review."""

from __future__ import annotations

import re
from functools import lru_cache

from core.candidates.linker import DictionaryLinker
from core.nlp.textnorm import term_key
from core.rules.worklist import STEP, Worklist, denied_at

GENERIC_WORDS = {
    "en": {"renal", "kidney", "kidneys", "cardiac", "heart", "pulmonary", "lung", "lungs", "bone", "bones", "skin",
           "artery", "arteries", "vein", "veins", "liver", "hepatic", "disease", "disorder", "infection", "lesion",
           "lesions", "defect", "condition", "problem", "syndrome", "sinus", "wound", "injury", "mass", "left",
           "right", "history", "attempts", "daily", "abnormal", "abnormality", "ischemic", "vascular", "venous", "rest",
           "fluids", "transplant", "deployment", "shelf", "nail", "nails", "encounter",
           "implant", "implanted", "inhibitor", "inhibitors", "frozen", "heat", "injection", "injections", "concern",
           "illness", "sick", "analgesia", "lag", "old", "erythematous", "menses", "menstruation", "clots", "clot",
           "placenta"},
    "es": {"renal", "riñón", "cardiaco", "cardíaco", "pulmonar", "pulmón", "hueso", "piel", "arteria", "vena",
           "hígado", "hepático", "enfermedad", "trastorno", "infección", "lesión", "lesiones", "defecto",
           "problema", "síndrome", "herida", "masa", "izquierdo", "derecho", "antecedentes", "patología", "isquémico",
           "isquémica", "vascular", "venoso", "venosa", "trasplante", "implanta", "implantó", "implantado",
           "implantada", "implante", "calor", "inyección", "infiltración", "menstruación", "regla", "coágulos",
           "placenta"},
}

# Words before alcohol or tobacco that say the use is light: no disorder ("rare EtOH", "bebedor ocasional").
LIGHT_USE = re.compile(r"\b(?:rare|rarely|occasional|occasionally|socially|minimal|ocasional|ocasionalmente|"
                       r"social(?:mente)?)(?:\W+(?:weekend|recreational|de fin de semana))?\W*$", re.IGNORECASE)


# A condition "secondary to" hypertension: the words of "secondary hypertension" (I15) in the other order.
_CAUSED_BY_HYPERTENSION = re.compile(r"\b(?:secundari[oa]s? a|secondary to|due to|2/2)\s+(?:la |su |the |his |her )?"
                                     r"(?:long[- ]?standing |longstanding |chronic |uncontrolled |poorly controlled |"
                                     r"severe |long-term |larga evoluci[oó]n de |mal controlada )?"
                                     r"(?:hta|htn|hipertensi[oó]n|hypertension)\b", re.IGNORECASE)

# Words around a disease's name that make it a vaccine ("last tetanus >10 y - Tdap given", "flu shot UTD",
# "vacuna antitetánica"): an immunization, not the disease.
_VACCINE = re.compile(r"\b(?:vaccin\w*|shots?|boosters?|toxoid|immuni[sz]\w*|Tdap|Td|DTaP|UTD|up to date|"
                      r"vacun\w*|dosis de recuerdo|last)\b", re.IGNORECASE)

# "Type 2" alone reads as diabetes in CodiEsp's notes; beside "MI" or "respiratory failure" it is their type.
_BARE_TYPE = re.compile(r"(?:type|tipo)\s*(?:1|2|I|II)", re.IGNORECASE)
_DIABETES_NEAR = re.compile(r"\b(?:diabet\w*|DM\d?|T[12]DM|mellitus|insulin\w*|metformin\w*|insulina|A1c|HbA1c)\b",
                            re.IGNORECASE)

# "Crushing substernal CP", "dolor opresivo": the pain's character, not a crush injury.
_PAIN_ADJECTIVE = re.compile(r"(?:crushing|crush|tearing|ripping|stabbing|burning)\s+(?:\w+\s+){0,2}?(?:pain|cp|"
                             r"chest|substernal|retrosternal|epigastric|headache|discomfort|pressure|sensation)\b",
                             re.IGNORECASE)

# "Lista de espera para artroplastia": an operation waited for, not Z75.1 (awaiting a place in a facility).
_SURGICAL_LIST = re.compile(r"[^.;\n]{0,20}?\b(?:para|for)\s+(?:\w+\s+){0,2}?(?:cirug[ií]a|intervenci[oó]n|"
                            r"artroplastia|pr[oó]tesis|iq|surgery|arthroplasty|operation|procedure|\w*ectom[ií]a|"
                            r"\w*plastia|trasplante|transplant)", re.IGNORECASE)
# Findings an exam describes that name no condition, by the code they were misread as and the words around them:
# "accessory muscle use" (a sign of breathlessness, not Q79.8), the bruit and thrill of a dialysis fistula, a
# well-healed surgical scar.
_EXAM_FINDINGS = (
    ("Q79", re.compile(r"accessory (?:respiratory )?muscles?|musculatura accesoria", re.IGNORECASE)),
    ("R09.89", re.compile(r"\b(?:thrill|fistula|AVF|AVG|graft|access|f[ií]stula|acceso|soplo)\b", re.IGNORECASE)),
    ("L90.5", re.compile(r"well[- ]healed|bien cicatrizad|cicatrizad[oa]", re.IGNORECASE)),
    ("R40.2", re.compile(r"\b(?:GCS|Glasgow)\s*(?:de\s*|of\s*|score\s*)?[:=]?\s*15\b", re.IGNORECASE)),  # fully awake
    # not findings but treatments: an insulin drip (no postnasal drip), chemotherapy with palliative intent (no
    # palliative care encounter)
    ("R09.82", re.compile(r"\b(?:insulin|heparin|IV|nitro\w*|pressor|amiodarone|diltiazem|esmolol|nicardipine|"
                          r"propofol|fentanyl|morphine|bicarb\w*)\s+(?:gtt|drip)", re.IGNORECASE)),
    ("Z51.5", re.compile(r"\b(?:QT|quimioterapia|chemo\w*|RT|radioterapia|radiation|radiotherapy)\s+paliativ|"
                         r"\bpalliative\s+(?:chemo\w*|radiation|radiotherapy|RT|intent)", re.IGNORECASE)),
)
# A first line that names the clinic or service ("CONSULTA EXTERNA DE ARRITMIAS", "Hepatology clinic"): the
# department's name, not a diagnosis of the patient.
_SERVICE_TITLE = re.compile(r"\A\s*(?:(?:consulta|unidad|servicio|cl[ií]nica|urgencias)(?: externa)? de [^\n.:]{3,40}|"
                            r"[\w/ -]{3,40}\b(?:clinic|consult|service|unit)(?: (?:note|visit|f/u|follow-?up))?)"
                            r"\s*(?:[-:.]|\n|$)", re.IGNORECASE)
# "Outside tPA window", "not a tPA candidate": the thrombolysis was not given, so no Z92.82.
_NO_THROMBOLYSIS = re.compile(r"\b(?:outside|beyond|out of|past)\s+(?:the\s+)?(?:tpa|alteplase|tnk|thrombolysis|"
                              r"thrombolytic)\s+window\b|\bnot\s+(?:a\s+)?(?:tpa|thrombolysis|thrombolytic)\s+"
                              r"candidate|\b(?:fuera de|sin)\s+(?:la\s+)?ventana\b", re.IGNORECASE)


def is_generic(work: Worklist, start: int, end: int) -> bool:
    """The note's words at ``start``-``end`` are one generic word ("renal", "encounter", "nail")."""
    return work.analysis.text[start:end].strip().lower() in GENERIC_WORDS.get(work.analysis.language, ())


@lru_cache(maxsize=4)
def _generic_keys(language: str) -> frozenset[tuple[str, ...]]:
    return frozenset(term_key(w, language) for w in GENERIC_WORDS.get(language, ()))


def generic_words(work: Worklist, linker: DictionaryLinker | None = None) -> None:
    """A code found only in single words that name a body part or a kind of problem ("Renal diet reviewed" → N28.9,
    "lungs" → R59.9), or only in such a word inside a longer term ("enfermedad" in EPOC's expansion → R69), is left
    for review: one such word names no condition."""
    keys = _generic_keys(work.analysis.language)
    text = work.analysis.text
    by_span: dict[tuple[int, int], list[tuple[str, ...]]] = {}
    for match in work.analysis.matches:
        by_span.setdefault((match.start, match.end), []).append(match.key)

    def only_generic(span: tuple[int, int], code: str) -> bool:
        found = [k for k in by_span.get(span, ()) if linker is not None and k in linker.rules
                 and code in linker.rules[k].codes]
        return bool(found) and all(k in keys for k in found)

    # Abbreviations whose written-out reading names a code: a code of one of its words alone is that word's ("ATN"
    # is acute tubular necrosis N17.0, not the gangrene I96 of "necrosis").
    whole = {(m.start, m.end): linker.rules[m.key].codes for m in work.analysis.mentions
             if m.expanded and linker is not None and m.key in linker.rules}
    tpa = work.entries.get("Z92.82")  # a candidate too: an I63 code's notes would ask for it later
    if tpa is not None and tpa.spans and all(_NO_THROMBOLYSIS.search(text, max(0, s - 30), min(len(text), e + 12))
                                             for s, e in tpa.spans):
        work.demote(tpa.code, "tabular validator", "no tPA was given ('outside the tPA window')", misread=True)
    title = _SERVICE_TITLE.match(text)  # the note's first line naming a clinic, read once
    for entry in list(work.coded()):
        if entry.suggestion.step == STEP or not entry.spans:
            continue
        if all(is_generic(work, s, e) or only_generic((s, e), entry.code) for s, e in entry.spans):
            work.demote(entry.code, "tabular validator", "a single generic word names no condition")
        elif all((s, e) in whole and not any(c.startswith(entry.code[:3]) for c in whole[(s, e)])
                 for s, e in entry.spans):
            work.demote(entry.code, "tabular validator", "one word of a written-out abbreviation, which names "
                        "another condition")
        elif entry.code[0] in "AB" and all(_VACCINE.search(text, max(0, s - 20), min(len(text), e + 25))
                                           for s, e in entry.spans):
            work.demote(entry.code, "tabular validator", "the disease's name stands for its vaccine ('Tdap', 'booster')")
        elif entry.code.startswith("I15") and _CAUSED_BY_HYPERTENSION.search(
                text[min(s for s, _ in entry.spans) : max(e for _, e in entry.spans)]):
            work.demote(entry.code, "tabular validator", "hypertension is the cause here ('secundaria a HTA'), not "
                        "secondary to something", misread=True)
        elif entry.code.startswith(("E10", "E11")) and all(_BARE_TYPE.fullmatch(text[s:e].strip()) and not any(
                not denied_at(text, m.start()) for m in _DIABETES_NEAR.finditer(text, max(0, s - 20), e + 20))
                for s, e in entry.spans):
            work.demote(entry.code, "tabular validator", "a type with no diabetes beside it ('type 2 MI')",
                        misread=True)
        elif any(entry.code.startswith(code) and all(words.search(text, max(0, s - 40), e + 40) for s, e in
                                                     entry.spans) for code, words in _EXAM_FINDINGS):
            work.demote(entry.code, "tabular validator", "an exam finding that names no condition ('accessory "
                        "muscle use', a fistula's bruit, a well-healed scar)", misread=True)
        elif title is not None and all(e <= title.end() for _, e in entry.spans):
            work.demote(entry.code, "tabular validator", f"'{title.group().strip()}' names the clinic, not a "
                        "diagnosis")
        elif entry.code == "Z75.1" and all(_SURGICAL_LIST.match(text, e) for _, e in entry.spans):
            work.demote(entry.code, "tabular validator", "a waiting list for an operation, not for a facility",
                        misread=True)
        elif entry.code[0] in "ST" and all(_PAIN_ADJECTIVE.match(text, s) for s, _ in entry.spans):
            work.demote(entry.code, "tabular validator", "the word describes a pain ('crushing chest pain')",
                        misread=True)
        elif re.match(r"F1\d\.9|F10|F17|Z72", entry.code) and all(LIGHT_USE.search(text[max(0, s - 25):s])
                                                                   for s, _ in entry.spans):
            work.demote(entry.code, "tabular validator", "occasional use names no disorder ('rare EtOH')",
                        misread=True)
