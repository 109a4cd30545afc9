"""Convention rules about what the note says of a condition: past or present, the patient's or a relative's, certain
or not, a symptom of a coded diagnosis or not, and the status codes its treatments and devices give."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from core.candidates.navigator import IndexNavigator
from core.nlp.assertion import NOT_CODED, STOPPED_CUES
from core.nlp.textnorm import term_key
from core.rules.generic_words import is_generic
from core.rules.neoplasm_history import is_primary_malignancy, malignancy_history_code
from core.rules.sides import stated_hand
from core.rules.worklist import NEGATED, STEP, Entry, Worklist, covers, references
from core.schema import CodeSuggestion, Span
from core.settings import PROJECT_ROOT

SYMPTOMS_FILE = PROJECT_ROOT / "data" / "conventions" / "symptoms.toml"
WEIGHT_DIAGNOSES = ("E66", "E44", "E45", "E46", "E43", "R63.6", "E41", "E40", "E42", "R63.4", "R62.7")
BMI = "Z68."
INSULIN, TYPE_1 = "Z79.4", "E10"
# Codes that name a methicillin-resistant organism (no Z16.11 beside them).
RESISTANT_ORGANISM_CODES = {"B95.62", "A41.02", "J15.212", "A49.02"}
# Where a note says the patient was admitted: probable / suspected conditions are then coded as established (Section
# II.H); anywhere else (clinic, emergency department, a note that does not say) the symptom is (Section IV.H).
_INPATIENT = re.compile(r"\b(?:admitted|admission|admit|inpatient|discharge diagnos[ie]s|discharge summary|"
                        r"hospital course|discharge dx|d/c (?:summary|dx|diagnos[ie]s)|hospitali[sz]ed|ingres[oóa]|ingreso|ingresad[oa]|hospitalizad[oa]|al alta|"
                        r"diagn[oó]sticos? al alta|informe de alta|hospitalizaci[oó]n|alta hospitalaria|"
                        r"(?-i:DISCHARGE))\b", re.IGNORECASE)


_RESOLVED = re.compile(r"[ ,]*(?:(?:now|has|have|since|ya|actualmente)\s+)?(?:resolved|resuelt[oa]s?)\b", re.IGNORECASE)


def history_and_family(work: Worklist, navigator: IndexNavigator | None,
                       winning: dict[tuple[int, int], list[str]] | None = None) -> None:
    """A condition the note gives only as the patient's past ("history of stroke", "former smoker", "s/p colectomy
    for colon cancer") is coded with its History, personal Z code (Z86.73, Z87.891, Z85.038) or the code the index
    gives (old MI → I25.2), not as current; a condition named only for a relative gets its History, family code
    (Z80.3, Z82.49, Z83.3). A chronic condition listed as history has no such entry and stays current."""
    if navigator is None:
        return
    _mentions_as_entries(work, winning or {})
    for entry in list(work.entries.values()):
        _relatives_too(work, navigator, entry)
        if entry.absorbed_by:
            continue
        listed = False
        if entry.only("historical", "negated", "family") and "historical" in entry.assertions:
            kind = "personal"  # "history of DVT ...; no current thrombosis"; "father with colon cancer" beside it
        elif _in_history_section(work, entry):
            kind, listed = "personal", True  # "PMH: stroke 2019"
        elif entry.only("family") and work.policy != "codiesp":
            kind = "family"
        else:
            continue
        if all(is_generic(work, a, b) for a, b in entry.spans):
            continue  # "s/p IM nail": one generic word is no past condition either
        if entry.code.startswith("Z"):
            if kind == "personal" and not entry.coded and work.codable(entry) and winning is not None and \
                    not entry.code.startswith("Z52") and any(  # "s/p deceased donor KT": the patient received it
                    codes[:1] == [entry.code] for span, codes in winning.items() if span in entry.spans) \
                    and work.said(entry) & work.words_of(entry.code):  # not "treatment" read as Z79.52
                work.promote(entry.code, "history", "a status or history code the note's own words name")
            continue
        if not entry.coded and _better_reading(entry, work):
            continue  # "stress incontinence resolved" read as a UTI (N39.0, 0.11) beside N39.3 (0.76): no Z87.440
        code, why = _history_code(kind, entry, work, navigator)
        if not code and entry.coded and not listed and is_primary_malignancy(entry.code):
            work.demote(entry.code, f"{kind} history", "the malignancy is not current; another reading of its words "
                        "gives the history code")
            continue
        if not code and entry.coded and not listed and not _INPATIENT.search(work.analysis.text) and all(
                _RESOLVED.match(work.analysis.text, b) or _RESOLVED.search(work.analysis.text, a + 1, b)
                for a, b in entry.spans):
            work.demote(entry.code, "personal history", "the note says it resolved: not current, and no history code")
            continue  # "Cough resolved, no fever" (an admission codes what resolved during the stay: "AKI resolved")
        if not code or listed and not _same_condition(code, entry.code, work):
            continue  # "PMH: NSTEMI 2019 ... CAD, stable": the CAD listed there is current, not the old MI
        work.add(code, list(entry.suggestion.evidence), f"{kind} history", why, entry.suggestion.score,
                 "index-navigator")
        if entry.coded:
            work.absorb(entry.code, code, f"{kind} history", "the condition is not current")


def _relatives_too(work: Worklist, navigator: IndexNavigator, entry: Entry) -> None:
    """A condition the note names for the patient and for a relative ("hx R breast ca ... Mother also had breast ca")
    gets the relative's family history code beside whatever the patient's mention gives."""
    if work.policy == "codiesp" or "family" not in entry.assertions or entry.only("family") or entry.code[0] in "ZVWXY":
        return
    spans = [s for s in entry.suggestion.evidence if work.analysis.assertion_of(s.start, s.end)[0] == "family"]
    code = malignancy_history_code("family", entry.code, work.tabular)
    found = None if code else navigator.history_code("family", work.condition(entry), work.tabular)
    code, why = (found.code, found.rationale) if found else (code, f"{code}: a relative's {entry.code}")
    if code and spans and code not in work.entries:
        work.add(code, spans, "family history", why, entry.suggestion.score, "index-navigator")


def _better_reading(entry: Entry, work: Worklist) -> bool:
    """Another reading of the same words scores at least five times higher."""
    return any(other is not entry and set(other.spans) >= set(entry.spans)
               and other.suggestion.score >= 5 * entry.suggestion.score for other in work.entries.values())


def _same_condition(history: str, code: str, work: Worklist) -> bool:
    """The history code's title names the condition of ``code`` (Z86.73 and I63.9 share "infarction"): a condition
    listed in a past-history section is past only through its own History entry."""
    ignore = {"personal", "history", "of", "and", "other", "unspecified", "disease", "disorder", "old", "without",
              "with", "the", "in", "status"}
    return bool((work.words_of(history) & work.words_of(code)) - ignore)


def _history_code(kind: str, entry: Entry, work: Worklist, navigator: IndexNavigator) -> tuple[str, str]:
    """A malignancy's history code comes from the tabular list's "classifiable to" ranges, which name every site
    (colon → Z80.0), where the index lists a few; any other condition's from the index's History entry."""
    if is_primary_malignancy(entry.code) and _outscored(entry, work):
        return "", ""
    code = malignancy_history_code(kind, entry.code, work.tabular)
    if code:
        return code, f"{work.tabular.description(code)}: the site of {entry.code} is classifiable there"
    found = navigator.history_code(kind, work.condition(entry), work.tabular)
    return (found.code, found.rationale) if found else ("", "")


def _outscored(entry: Entry, work: Worklist) -> bool:
    """One neoplasm named, one history code: a malignancy read from words that a malignancy written more compactly
    (or as compactly and better scored) also covers ("breast cancer, father with CAD" read as "cancer ... artery")
    gives none; nor does a guess scored a tenth of another reading of the same words ("RCC" as a breast site). A
    reading of only some of another's words ("adenocarcinoma" as C61 inside "sigmoid colon adenocarcinoma") loses."""
    def rank(e: Entry) -> tuple[int, float]:
        return -len({i for a, b in e.spans for i in range(a, b)}), e.suggestion.score  # overlaps counted once

    def within(inner: Entry, outer: Entry) -> bool:  # of the inner reading's words where the two meet
        shared = [(c, d) for c, d in inner.spans if any(a < d and c < b for a, b in outer.spans)]
        return bool(shared) and all(any(a <= c and d <= b for a, b in outer.spans) for c, d in shared)

    def beats(other: Entry) -> bool:
        mine, theirs = entry.suggestion.score, other.suggestion.score
        inside, around = within(entry, other), within(other, entry)
        if inside and not around and 2 * theirs >= mine:
            return True  # "adenocarcinoma" inside "sigmoid colon adenocarcinoma"
        if around and not inside and 2 * mine >= theirs:
            return False
        return theirs >= 10 * mine or (mine < 10 * theirs and rank(other) > rank(entry))

    return any(other is not entry and is_primary_malignancy(other.code) and beats(other)
               and (not other.absorbed_by or other.absorbed_by.startswith("Z8"))  # already read as history
               and any(a < d and c < b for a, b in entry.spans for c, d in other.spans)
               for other in work.entries.values())


def _mentions_as_entries(work: Worklist, winning: dict[tuple[int, int], list[str]]) -> None:
    """A condition the note names only for a relative or the past may have no entry (the ranker lists what it may
    code): its mention's code joins the worklist as a candidate, so that its history code can be found."""
    represented = {span for entry in work.entries.values() for span in entry.spans}
    for match in work.analysis.mentions:
        codes = winning.get((match.start, match.end)) or []
        if match.assertion not in ("family", "historical") or not codes or (match.start, match.end) in represented:
            continue
        text = work.analysis.text[match.start : match.end]
        if codes[0] in work.entries:
            entry = work.entries[codes[0]]
            if match.assertion == "family":  # the patient's code and a relative's: the relative's code too
                entry.suggestion.evidence.append(Span(start=match.start, end=match.end, text=text))
                entry.assertions = work.assertions_of(entry.suggestion)
            continue
        suggestion = CodeSuggestion(code=codes[0], description=work.tabular.description(codes[0]),
                                    evidence=[Span(start=match.start, end=match.end, text=text)], source="dictionary",
                                    score=0.0, rationale=f"'{text}': {match.assertion} ({match.cue})", step=STEP,
                                    status="candidate")
        work.entries[codes[0]] = Entry(suggestion, work.assertions_of(suggestion))


def _in_history_section(work: Worklist, entry: Entry) -> bool:
    """All of the evidence lies in a past-history section ("PMH:", "Antecedentes personales:"): a condition listed
    there is current when it is chronic (it has no History, personal entry) and past when the index has one."""
    sections = [work.analysis.section_at(s).kind for s, _ in entry.spans]
    text = work.analysis.text
    return bool(sections) and all(kind == "history" for kind in sections) and "present" in entry.assertions and \
        not any(_CURRENT_NOW.search(text, max(0, s - 25), s) or _CURRENT_AFTER.match(text, e, e + 20) or _RATE.search(
            text, s, e + 12) for s, e in entry.spans)  # "Hx: active smoker", "dependencia activa", "Fumador de 10 cig/día"


# Words just after a condition ("dependencia alcohólica activa") or just before it ("Hx: active smoker, 1 ppd") that
# say it goes on now, even in a history section.
_CURRENT_AFTER = re.compile(r"\W*(?:activ[oa]|actual|en curso|ongoing|active|current)\b", re.IGNORECASE)
_RATE = re.compile(r"\d+\s*(?:cigarrillos|cigarettes|cigs?|paquetes|packs?)\s*(?:/\s*d[ií]a|al d[ií]a|a day|per day|daily)|\bppd\b", re.I)
_CURRENT_NOW = re.compile(r"\b(?:active|current|currently|ongoing|still|continues to|actual|activo|activa)\W*$",
                          re.IGNORECASE)


_REACTION = re.compile(r"[^.;\n()]{0,25}?(?:\([^()\n]{0,60}\)|(?:->|→|[:-])[^.;\n(),]{0,30}(?=[.;\n,)]|$))")


def _reaction_of_allergy(work: Worklist, code: str, end: int) -> None:
    """The reaction an allergy is written with ("Alergia a penicilina (exantema generalizado)", "PCN -> hives") is
    the allergy's history, not a condition now."""
    reaction = _REACTION.match(work.analysis.text, end)
    if reaction is None:
        return
    for other in work.coded():
        if other.code != code and other.spans and all(end <= a and b <= reaction.end() for a, b in other.spans):
            work.absorb(other.code, code, "status", "the reaction the allergy is written with, not a condition now")


_PLANNED = re.compile(r"\b(?:programar|iniciar|pendiente de|valorar|planned|plans? to|to start|will (?:start|begin|"
                      r"need)|candidate for|evaluation for|preparation for)\b[^.;\n]*$", re.IGNORECASE)


def status_codes(work: Worklist) -> None:
    """Status codes the note states (long-term insulin Z79.4, anticoagulants Z79.01, dialysis Z99.2, allergy Z88.0,
    BMI Z68.-) are coded when the sentence says the patient has them; BMI only with a weight diagnosis it supports
    (I.B.14), and no Z79.4 with type 1 diabetes, where insulin is part of the disease."""
    analysis = work.analysis
    tabular = work.tabular
    for found in analysis.status:
        assertion, cue = analysis.assertion_of(found.start, found.end)
        if found.code.startswith("Z79") and assertion == "historical" and cue in STOPPED_CUES.get(analysis.language, ()):
            continue  # "completed 6 mo apixaban, no longer on anticoagulation"
        allergy = found.code.startswith(("Z88", "Z91.0")) and analysis.section_at(found.start).kind == "allergies"
        code = found.code if tabular.is_billable(found.code) else tabular.unspecified_code(
            found.code, analysis.side_of(found.start, found.end))  # Z89.51 + "left" → Z89.512
        exposure = code == "Z77.22" and assertion == "family"  # "Father smokes at home": the relative's smoke
        if assertion in NOT_CODED and not (allergy and assertion == "hypothetical" or exposure) or not code or \
                code.startswith("Z99") and _PLANNED.search(analysis.text, max(0, found.start - 40), found.start):
            continue  # "programar inicio de hemodiálisis": a dialysis to come
        text = analysis.text[found.start : found.end]
        work.add(code, [Span(start=found.start, end=found.end, text=text)], "status",
                 f"status read from '{text}'", 0.5, "status-rule")
        if code.startswith(("Z88", "Z91.0")):
            _reaction_of_allergy(work, code, found.end)
        if code.startswith("Z20"):  # "contact with a coworker with COVID-19": the coworker's disease
            for other in work.coded():
                if other.code != code and other.spans and all(found.start <= a and b <= found.end or
                                                              analysis.assertion_of(a, b)[0] in NOT_CODED
                                                              for a, b in other.spans):
                    work.absorb(other.code, code, "status", "the disease is the contact's, not the patient's")
    if any(found.code == "Z99.2" for found in analysis.status):  # the dialysis access ("FAV") is no disease
        for entry in work.coded():
            if entry.code == "I77.0":
                work.demote(entry.code, "status", "a fistula made for dialysis is the dialysis status (Z99.2)")
    stopped = STOPPED_CUES.get(analysis.language, ())
    for entry in work.coded():
        readings = [analysis.assertion_of(a, b) for a, b in sorted(entry.spans)]
        if entry.code.startswith("Z79") and readings and (all(
                kind == "negated" or kind == "historical" and cue in stopped for kind, cue in readings)
                or readings[-1][0] == "historical" and readings[-1][1] in stopped):  # "on metformin; switched ->"
            work.demote(entry.code, "status", "the drug was stopped: no long-term use now")
    coded = work.coded()
    resistant = any(e.code in RESISTANT_ORGANISM_CODES for e in coded)
    for entry in coded:
        if resistant and entry.code.startswith("Z16.1"):
            work.demote(entry.code, "drug resistance", "the organism's code already says it is methicillin resistant")
    weight = any(e.code.startswith(WEIGHT_DIAGNOSES) for e in coded)
    type_1 = any(e.code.startswith(TYPE_1) for e in coded)
    for entry in coded:
        if entry.code.startswith(BMI) and not weight:
            work.demote(entry.code, "BMI", "a BMI is coded only with the weight diagnosis it supports")
        elif entry.code == INSULIN and type_1:
            work.demote(entry.code, "drug therapy", "insulin is part of type 1 diabetes (no Z79.4)")
    aspirin = next((e for e in coded if e.code == "Z79.82"), None)
    for entry in coded:  # "antiagregado con AAS": the antiplatelet named is aspirin (Z79.82), no other
        if entry.code == "Z79.02" and aspirin is not None and all(
                _ANTIPLATELET_CLASS.fullmatch(analysis.text[a:b].strip()) for a, b in entry.spans):
            work.absorb(entry.code, aspirin.code, "drug therapy", "the antiplatelet the note names is aspirin")


# The class words for antiplatelet therapy, which name no drug of their own.
_ANTIPLATELET_CLASS = re.compile(r"anti-?platelets?(?: therapy| agents?)?|antiagregad[oa]|antiagregantes?|"
                                 r"antiagregaci[oó]n", re.IGNORECASE)


def insulin_with_type_1(work: Worklist) -> None:
    """Again once the diabetes codes are settled (a combination may be the first type 1 code): no Z79.4 with E10."""
    if INSULIN in work.entries and work.entries[INSULIN].coded and any(e.code.startswith(TYPE_1) for e in work.coded()):
        work.demote(INSULIN, "drug therapy", "insulin is part of type 1 diabetes (no Z79.4)")


SEVERE_SEPSIS = "R65.2"
SYSTEMIC_INFECTIONS = ("A40", "A41", "A02.1", "A22.7", "A26.7", "A32.7", "A42.7", "A54.86", "B37.7", "A39.2",
                       "A39.3", "A39.4", "O85", "T81.4", "P36")


def sepsis(work: Worklist) -> None:
    """Severe sepsis or septic shock (R65.2-) is never the first or only code: the systemic infection is coded
    first, and without an organism named that is sepsis, unspecified organism (A41.9) (I.C.1.d)."""
    coded = work.coded()
    severe = [e for e in coded if e.code.startswith(SEVERE_SEPSIS)]
    if not severe:
        _organ_dysfunction(work, coded)
    if not severe or any(e.code.startswith(SYSTEMIC_INFECTIONS) for e in coded):
        return
    work.add("A41.9", list(severe[0].suggestion.evidence), "sepsis",
             "severe sepsis or septic shock: the systemic infection is coded first (organism not named)",
             severe[0].suggestion.score, "tabular-list")


# Acute organ dysfunctions that make a sepsis severe (I.C.1.d.1.a): respiratory failure, kidney injury, liver failure,
# DIC, encephalopathy, shock.
_ORGAN_DYSFUNCTION = ("J96.0", "J96.2", "J80", "N17", "K72.0", "D65", "G93.41", "G93.40", "R57")


def _organ_dysfunction(work: Worklist, coded: list[Entry]) -> None:
    """Sepsis the note ties to an acute organ dysfunction in one sentence ("sepsis due to pneumococcal pneumonia,
    complicated by acute hypoxic respiratory failure") is severe sepsis: R65.20, or R65.21 with septic shock."""
    sepsis_entries = [e for e in coded if e.code.startswith(SYSTEMIC_INFECTIONS)]
    organs = [e for e in coded if e.code.startswith(_ORGAN_DYSFUNCTION)]
    tied = [(s, o) for s in sepsis_entries for o in organs if work.same_sentence(s.spans, o.spans)]
    if not tied:
        return
    sepsis_entry, organ = tied[0]
    code = "R65.21" if organ.code.startswith("R57") else "R65.20"
    work.add(code, [*sepsis_entry.suggestion.evidence, *organ.suggestion.evidence], "sepsis",
             f"sepsis with an acute organ dysfunction ({organ.code}) in the same statement: "
             f"{work.tabular.description(code)}", sepsis_entry.suggestion.score, "tabular-list")


def uncertain(work: Worklist) -> None:
    """Outside an admission, a condition written only as probable or suspected is not coded as established (Section
    IV.H): a note that does not say the patient was admitted is read as an outpatient visit."""
    text = work.analysis.text
    if _INPATIENT.search(text):
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


STROKES = ("I60", "I61", "I62", "I63", "I64")
SEQUELA_OF = {"I60": "I69.0", "I61": "I69.1", "I62": "I69.2", "I63": "I69.3", "I64": "I69.3"}
_RESIDUAL = re.compile(r"\b(?:residual|sequela|sequelae|late effect|since (?:the|her|his) stroke|after (?:the|a|her|his) "
                       r"stroke|secuela|secuelas|residual)\b|prior stroke|previous stroke|old stroke|history of stroke|"
                       r"\b(?:from|due to|secondary to|following|after|tras|por)\s+(?:(?:a|an|the|her|his|un|el)\s+)?"
                       r"(?:\w+\s+){0,3}(?:stroke|cva|ictus|acv)\b|\bpost[- ]?(?:stroke|cva|ictus)\b|"
                       r"\b(?:stroke|cva|infarct|ictus|acv)\b[^.;]{0,40}\b(?:persistent|persisting|persistente)\b",
                       re.IGNORECASE)


def sequelae(work: Worklist) -> None:
    """A deficit left by a past stroke is coded as its sequela (I69.-), with the side and the dominance the note gives
    ("prior stroke with residual right hemiparesis, right-handed" → I69.351), not as a current stroke or a history
    of one (I.C.9.d); a dysphagia keeps its type code (use additional R13.1-)."""
    tabular = work.tabular
    text = work.analysis.text
    # A stroke the history rule took for past (Z86.73) is still the cause of the residual deficit the note names.
    strokes = [e for e in work.entries.values() if e.code.startswith(STROKES)
               and (not e.absorbed_by or e.absorbed_by.startswith(("Z86", "I69")))]
    if not strokes or not _RESIDUAL.search(NEGATED.sub(" ", text)):
        return  # "sin secuelas", "without residual deficits": a history (Z86.73), not a sequela
    base = SEQUELA_OF[strokes[0].code[:3]]
    options = tabular.billable_descendants(base)
    sentences = work.analysis.sentences
    residual = [e for e in work.candidates() if work.codable(e) and e.spans and not tabular.description(
        e.code).startswith("Other") and not work.set_aside(e.code, "tabular validator") and all(_RESIDUAL.search(NEGATED.sub(" ", text[slice(
            *sentences.sentence_bounds(s, e2))])) for s, e2 in e.spans)]
    coded_categories = {e.code[:3] for e in work.coded()}
    residual = [e for e in residual if e.code[:3] not in coded_categories]  # R47.9 "speech" beside aphasia R47.01
    added: set[str] = set()
    for deficit in [*work.coded(), *residual]:
        if deficit.code.startswith(("I69", "Z86", *STROKES)) or deficit.code[0] in "ZVWXY":
            continue
        words = set(re.findall(r"[a-z]+", tabular.description(deficit.code).lower())) - {
            "unspecified", "affecting", "side", "other", "and", "of", "right", "left", "dominant", "nondominant",
            "disorder", "disorders", "following"}
        side = next((s for s in (work.analysis.side_of(a, b) for a, b in deficit.spans) if s), "")
        hand = stated_hand(text)
        best: tuple[int, str] | None = None
        for option in options:
            title = tabular.description(option).lower()
            shared = len(words & set(re.findall(r"[a-z]+", title)))
            if not shared:
                continue
            rank = shared * 4 + _side_rank(title, side, hand)
            if best is None or rank > best[0]:
                best = (rank, option)
        if best is None or best[0] < 4:
            continue
        code = best[1]
        added.add(code)
        work.add(code, list(deficit.suggestion.evidence) + list(strokes[0].suggestion.evidence), "sequela",
                 f"{tabular.description(code)}: a deficit left by the past stroke", deficit.suggestion.score,
                 "tabular-list")
        notes = tabular.inherited_notes(code)
        refs = references(notes.use_additional)
        if not any(covers(ref, deficit.code) for ref in refs):
            work.absorb(deficit.code, code, "sequela", "the sequela code names the deficit")
            typed = _typed(deficit, [r for r in refs if r[0][:3] == deficit.code[:3]], work)
            if typed:
                work.add(typed, list(deficit.suggestion.evidence), "use additional",
                         f"{code}'s notes ask for the type ({tabular.description(typed)})", deficit.suggestion.score,
                         "tabular-list")
        stroke_spans = {span for stroke in strokes for span in stroke.spans}
        others = [e for e in work.coded() if e.code.startswith(base[:3]) and e.code not in added and (
            "unspecified" in tabular.description(e.code).lower()
            or any(a < d and c < b for a, b in e.spans for c, d in stroke_spans))]
        for entry in [*strokes, *(e for e in work.coded() if e.code == "Z86.73"), *others]:
            work.absorb(entry.code, code, "sequela", "the stroke is past; its deficit is coded as a sequela")
    hemiplegia = next((c for c in sorted(added) if "hemiplegia" in tabular.description(c).lower()), "")
    for code in sorted(added):  # "L hemiparesis (4/5 LUE/LLE)": the weak arm is the hemiparesis, not a monoplegia
        if hemiplegia and "monoplegia" in tabular.description(code).lower():
            work.absorb(code, hemiplegia, "one condition, one code", f"{hemiplegia} names the weakness of the side")


def _typed(deficit: Entry, refs: list[tuple[str, str]], work: Worklist) -> str:
    """The code of the range a sequela's "use additional" note gives whose words, beyond the deficit's own, the
    sentence says ("oropharyngeal dysphagia" → R13.12, Dysphagia, oropharyngeal phase); "" when none or several."""
    tabular = work.tabular
    said = work.sentence_words(deficit)
    own = work.words_of(deficit.code) | frozenset(term_key("phase unspecified", "en"))
    found = [c for ref in refs for c in tabular.billable_descendants(ref[0][:3]) if covers(ref, c) and c != deficit.code
             and (work.words_of(c) - own) and (work.words_of(c) - own) <= said]
    return found[0] if len(found) == 1 else ""


def _side_rank(title: str, side: str, hand: str) -> int:
    """How well a sequela title fits the side and the handedness the note gives (dominant when they agree)."""
    if not side:
        return 2 if "unspecified side" in title else 0
    if not re.search(r"\b(?:right|left|side)\b", title):
        return 0  # aphasia has no side: the side of the stroke is no reason against I69.320
    if side not in title:
        return -1
    if not hand:  # I.C.6.a default: the right side dominant, the left non-dominant
        hand = "right"
    dominance = "non-dominant" if hand != side else "dominant"
    return 3 if f"{side} {dominance}" in title else 0


# An acute event the note dates to a past year ("TIA 2021", "IAM inferior en 2018", "kidney stone 2018") is the
# patient's history: its History, personal code (I.C.9.e old MI I25.2, I.C.21.c.4 Z86.-, Z87.442), not the acute code.
DATED_EVENTS = {"I21": "I25.2", "I22": "I25.2", "I63": "Z86.73", "G45": "Z86.73", "I26": "Z86.711",
                "I82.4": "Z86.718", "N20": "Z87.442", "N21": "Z87.442"}
_DATED = re.compile(r"[^.,;:\n]{0,25}?(?:\b(?:in|en|del?)\s+|\()?(?:\b\d{1,2}/)?\b(?:19[5-9]\d|20[0-2]\d)\b(?!\s*(?:mg|mcg|ml|units?))",
                    re.IGNORECASE)
_FULL_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")


def dated_events(work: Worklist) -> None:
    """A year (or month/year) is a past date; a full date ("STEMI 03/12/2025") may be this encounter's: left alone."""
    text = work.analysis.text

    def past(end: int) -> bool:
        found = _DATED.match(text, end)
        return found is not None and not _FULL_DATE.search(text, found.start(), found.end() + 1)

    for entry in list(work.coded()):
        history = next((code for prefix, code in DATED_EVENTS.items() if entry.code.startswith(prefix)), "")
        if not history or not entry.spans or not all(past(end) for _, end in entry.spans):
            continue
        when = _DATED.match(text, entry.spans[0][1]).group().strip()
        work.add(history, list(entry.suggestion.evidence), "personal history",
                 f"dated to the past ('{when}'): {work.tabular.description(history)}", entry.suggestion.score,
                 "index-navigator")
        work.absorb(entry.code, history, "personal history", "the event is dated to the past")


def current_malignancy(work: Worklist) -> None:
    """A malignancy still treated or present is coded as current, not as history (I.C.2.d): its Z85 code gives way
    to the C code of the same site ("on adjuvant tamoxifen for her 'history of breast cancer'")."""
    coded = work.coded()
    for entry in coded:
        if not entry.code.startswith("Z85"):
            continue
        current = next((o for o in coded if is_primary_malignancy(o.code)
                        and malignancy_history_code("personal", o.code, work.tabular) == entry.code), None)
        if current is not None:
            work.absorb(entry.code, current.code, "history",
                        f"the malignancy is current ({current.code}): not a history of it")


FOLLOW_UP = "Z09"
# A condition the note says is over: "pneumonia resolved", "C. diff colitis - treated, resolved", "neumonía ...,
# tratada con levofloxacino (tto completado)". The words between the condition and the cue name no symptom ("cough,
# symptoms resolved" leaves the diagnosis current).
_OVER = {
    "en": re.compile(r"\b(?:resolved|resolution|completed|treated)\b"),
    "es": re.compile(r"\b(?:resuelt[oa]s?|resoluci[oó]n|curad[oa]|tratad[oa]|completad[oa]|complet[oó])\b"),
}
_STRONG = {"en": re.compile(r"\b(?:resolved|resolution)\b"),
           "es": re.compile(r"\b(?:resuelt[oa]s?|resoluci[oó]n|curad[oa])\b")}
_NOT_THE_CONDITION = re.compile(r"\b(?:symptoms?|sx|s[ií]ntomas?|pain|dolor|fever|fiebre|cough|tos|exacerbation|flare|"
                                r"episode|agudizaci[oó]n|crisis|with|con)\b|[;:]",
                                re.IGNORECASE)
_FOLLOW_UP_VISIT = {
    "en": re.compile(r"\b(?:f/u|follow[- ]?up|recheck|post[- ]treatment visit)\b", re.IGNORECASE),
    "es": re.compile(r"\b(?:control|revisi[oó]n|seguimiento|alta del proceso)\b", re.IGNORECASE),
}
# Personal history of other diseases of a chapter, for a resolved condition the index's History entries do not name.
_CHAPTER_HISTORY = ((("A", "B"), "Z86.19"), (("D5", "D6", "D7", "D8"), "Z86.2"), (("E",), "Z86.39"),
                    (("F",), "Z86.59"), (("G", "H"), "Z86.69"), (("I",), "Z86.79"), (("J",), "Z87.09"),
                    (("K",), "Z87.19"), (("L",), "Z87.2"), (("M",), "Z87.39"), (("N0", "N1", "N2", "N3"), "Z87.448"))
_OVER_WINDOW = 80  # characters from the condition's words to the cue, within one sentence


def resolved_conditions(work: Worklist, navigator: IndexNavigator | None) -> None:
    """A condition the note says has resolved after its treatment is past: its History, personal code (Z87.01 for a
    pneumonia, Z86.19 for a C. diff colitis), not the condition (I.C.21.c.4). A follow-up visit that then codes no
    current condition is Z09, the encounter after completed treatment (I.C.21.c.8); a malignancy's is Z08."""
    over = _OVER.get(work.analysis.language)
    if navigator is None or over is None or work.policy == "codiesp" or _INPATIENT.search(work.analysis.text):
        return  # a condition that resolved during the stay was treated in it: it is coded
    text = work.analysis.text
    if not any(pattern.search(text.lower()) for pattern in _STRONG.values()):
        return  # nothing resolved or was cured: "treated" or "completed" alone leaves a condition current
    visit = _FOLLOW_UP_VISIT[work.analysis.language].search(text)
    resolved = []
    conditions = [e for e in work.coded() if e.code[0] not in "ZVWXYR"]
    strong = _STRONG[work.analysis.language]
    for entry in conditions:
        if is_primary_malignancy(entry.code) or not entry.spans or not visit and not _in_history_section(work, entry):
            continue  # a condition treated at this visit ("hypoglycemia ... resolved with D50") is coded
        # "treated" / "completed" counts only in a note about that one condition ("f/u after CAP treated w/ levo ...
        # pneumonia resolved"); elsewhere the note must say that this condition resolved
        cue = over if len(conditions) == 1 else strong
        if any(_said_over(work, cue, start, end) for start, end in entry.spans):
            resolved.append(entry)
    for entry in resolved:
        code, why = _history_code("personal", entry, work, navigator)
        if not code:  # no History entry names it: the chapter's "personal history of other diseases of ..." code
            code = next((z for prefixes, z in _CHAPTER_HISTORY if entry.code.startswith(prefixes)), "")
            why = f"{work.tabular.description(code)}: the chapter of {entry.code}" if code else ""
        if not code:
            continue
        work.add(code, list(entry.suggestion.evidence), "personal history", f"the note says the condition resolved: "
                 f"{why}", entry.suggestion.score, "index-navigator")
        work.absorb(entry.code, code, "personal history", "the note says the condition resolved after treatment")
    if resolved and visit and not any(e.code[0] not in "ZVWXY" for e in work.coded()):
        work.add(FOLLOW_UP, [Span(start=visit.start(), end=visit.end(), text=visit.group())], "encounter",
                 f"'{visit.group()}' after the treatment of a condition that has resolved: "
                 f"{work.tabular.description(FOLLOW_UP)}", 0.5, "tabular-list")


def _said_over(work: Worklist, over: re.Pattern[str], start: int, end: int) -> bool:
    """The cue follows the condition's words in its sentence with no symptom or other condition between ("Finished
    azithromycin for bronchitis, now resolved" says nothing of the asthma before it)."""
    text = work.analysis.text
    left, right = work.analysis.sentences.sentence_bounds(start, end)
    others = [s for e in work.coded() for s, _ in e.spans if end <= s]
    for found in over.finditer(text.lower(), end, min(right, end + _OVER_WINDOW)):
        if not _NOT_THE_CONDITION.search(text, end, found.start()) and \
                not any(end <= s < found.start() for s in others):
            return True
    before = over.search(text.lower(), max(left, start - 12), start)  # "resolved pneumonia"
    return before is not None
