"""One condition, one code, where the titles of two codes of a condition say it: an unspecified code beside a
specific code of the same category read from the same words, a code whose title says the opposite of what a more
specific code of its category says ("without hemorrhage or perforation", "chronic or unspecified" beside "acute ...
with hemorrhage"), and an organism code (B95-B97) or a strain beside a code whose title already names the organism."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from core.candidates.navigator import is_vague
from core.nlp.assertion import NOT_CODED
from core.nlp.textnorm import term_key
from core.rules.conventions import _overlap
from core.rules.injury import _sides as injury_sides
from core.rules.worklist import Worklist, affirmed, block_of, title_words
from core.settings import PROJECT_ROOT

_ORGANISM_CODES = ("B95", "B96", "B97", "A49")  # the organism alone, as a cause or at an unspecified site
_AS_CAUSE = re.compile(r"\s*(?:infection\s+)?as the cause of diseases classified elsewhere.*$|\s*infection,? unspecified "
                       r"site$")
_STRAINS = ("methicillin resistant", "methicillin susceptible")


def _title(code: str, work: Worklist) -> str:
    return work.tabular.description(code).lower().replace("-", " ")


def _neoplasm(code: str) -> bool:
    return code[0] == "C" or code[0] == "D" and code[1:3] < "50"


def opposite(code: str, other: str, work: Worklist) -> bool:
    """``code`` says of the condition what ``other`` (same category) says otherwise: "without A or B" where ``other``
    is "with A" (K25.3 beside K25.0), or "chronic or unspecified X" where ``other`` is "acute X" (K25.4 beside
    K25.0)."""
    if code[:3] != other[:3] or code == other:
        return False
    title, words = _title(code, work), _title(other, work)
    match = re.match(r"(.+?),? without (.+?)(?:,|$)", title)
    if match and words.startswith(match.group(1)) and any(
            f"with {part.strip()}" in words for part in re.split(r"\bor\b|\band\b", match.group(2)) if part.strip()):
        return True
    match = re.match(r"chronic or unspecified (.+)", title)
    return bool(match) and words == f"acute {match.group(1)}"


_SIDE_WORDS = re.compile(r"\b(?:right|left|bilateral|unspecified)\s+")


def _unsided_twin(code: str, other: str, work: Worklist) -> bool:
    """``code`` is ``other`` with the side left unspecified (S72.309A beside S72.302A, "... of left femur")."""
    title, words = _title(code, work), _title(other, work)
    return (code[:3] == other[:3] and code != other and _SIDE_WORDS.sub("", title) == _SIDE_WORDS.sub("", words)
            and not re.search(r"\b(?:right|left|bilateral)\b", title)
            and bool(re.search(r"\b(?:right|left|bilateral)\b", words)))


def _same_injury(code: str, other: str, work: Worklist) -> bool:
    """An injury of an unspecified part beside one of a named part of the same bone, side and encounter ("clavicle fx"
    in the X-ray report, "displaced R clavicle shaft fx" in the diagnoses): one injury named twice."""
    sides = [injury_sides(c, work.tabular) for c in (code, other)]
    return code[0] == "S" and code[:5] == other[:5] and code[-1] == other[-1] and sides[0] == sides[1] != set()


_GENERIC_TITLE_WORDS = {"unspecified", "other", "of", "the", "and"}


def _title_words(code: str, work: Worklist) -> set[str]:
    return set(re.findall(r"[a-z]+", _title(code, work))) - _GENERIC_TITLE_WORDS


def _component(code: str, combination: str, work: Worklist) -> bool:
    """``combination``'s title joins ``code``'s condition with another by "with" (R11.2 "nausea with vomiting" holds
    R11.0 "nausea" and R11.10 "vomiting"), in one category."""
    if code[:3] != combination[:3] or code == combination or " with " not in _title(combination, work):
        return False
    return _title_words(code, work) <= _title_words(combination, work)


def one_condition(work: Worklist) -> None:
    """Apply the three: opposite titles, the unspecified code at the same words, the organism already named; a
    combination code of the category first absorbs its parts."""
    coded = work.coded()
    for entry in coded:
        parts = [o for o in coded if o.coded and entry.coded and _component(o.code, entry.code, work)
                 and _overlap(o.spans, entry.spans)]
        if len(parts) >= 2:  # both halves said: "nausea and vomiting"
            for part in parts:
                work.absorb(part.code, entry.code, "one condition, one code",
                            f"{entry.code} names {part.code}'s condition with the other")
    coded = work.coded()
    for entry in coded:
        if not entry.coded:
            continue
        for other in coded:
            if other is entry or not other.coded or other.code[:3] != entry.code[:3]:
                continue
            if _unsided_twin(entry.code, other.code, work) and _overlap(entry.spans, other.spans):
                work.absorb(entry.code, other.code, "one condition, one code", f"{other.code} names the side")
                break
            if opposite(entry.code, other.code, work) and not opposite(other.code, entry.code, work):
                work.absorb(entry.code, other.code, "one condition, one code",
                            f"{other.code} says what the note says of the condition")
                break
            if entry.code == f"{entry.code[:3]}.9" and len(other.code) > 5 and _overlap(entry.spans, other.spans):
                work.absorb(entry.code, other.code, "one condition, one code",  # "back pain" M54.9 in "low back
                            f"{other.code} is the category's code the words name")  # pain" M54.50
                break
            if is_vague(entry.code, work.tabular) and not is_vague(other.code, work.tabular) \
                    and (_overlap(entry.spans, other.spans) or _same_injury(entry.code, other.code, work)) \
                    and not _neoplasm(entry.code) and not (other.code == "I25.2" and entry.code.startswith("I25.1")):
                # sites: neoplasm.py; an old MI is another condition than the coronary disease beside it
                work.absorb(entry.code, other.code, "one condition, one code",
                            f"{other.code} is the specific code of the same words")
                break
    _organism_named(work)


_HYPERTENSIVE_WITH_ORGAN = ("I11", "I12", "I13")


def one_hypertensive_disease(work: Worklist) -> None:
    """Essential hypertension (I10) beside a hypertensive heart or kidney disease the note names directly
    ("hypertensive nephrosclerosis" I12.9) gives way: one hypertensive disease, one code."""
    end_stage = work.entries.get("I12.0")
    if end_stage is not None and end_stage.absorbed_by == "I12.9" and any(
            e.code in ("N18.5", "N18.6") for e in work.coded()):  # the combination with CKD 5 / ESRD, not stage 1-4
        work.promote("I12.0", "one condition, one code", "the note gives stage 5 or end-stage kidney disease")
        work.absorb("I12.9", "I12.0", "one condition, one code", "I12.0 is the hypertensive disease with the stage "
                    "the note gives")
    organ = next((e for e in work.coded() if e.code.startswith(_HYPERTENSIVE_WITH_ORGAN)), None)
    entry = work.entries.get("I10")
    if organ is not None and entry is not None and entry.coded:
        work.absorb("I10", organ.code, "one condition, one code",
                    f"{organ.code} is the hypertensive disease with the organ the note names")


def vague_of_the_block(work: Worklist) -> None:
    """An unspecified code beside a code of another category of its block whose title holds all its words, in the
    same sentence: "cataract" H26.9 beside "nuclear sclerotic cataract, left eye" H25.12 is one cataract. An "Other
    ..." code read from the same words as a named code of its chapter gives way to it."""
    coded = work.coded()
    tabular = work.tabular
    for entry in coded:
        if entry.coded and entry.spans and tabular.description(entry.code).startswith("Other "):
            same = next((o for o in work.entries.values() if o is not entry and (o.coded or o.absorbed_by)
                         and set(entry.spans) <= set(o.spans)
                         and tabular.chapter_of(o.code) == tabular.chapter_of(entry.code)
                         and not tabular.description(o.code).startswith("Other ")), None)
            by = "" if same is None else same.code if same.coded else same.absorbed_by
            if by and by != entry.code:  # "COPD" read as J44.- and as "other disorders of lung" (J98.4)
                work.absorb(entry.code, by, "one condition, one code", f"the same words name {same.code}")
                continue
        if not entry.coded or not entry.spans or entry.code[0] in "CDSTZ" or "unspecified" not in \
                tabular.description(entry.code).lower():
            continue
        words = work.words_of(entry.code) - title_words("unspecified")
        block = block_of(entry.code, tabular)
        other = next((o for o in coded if o is not entry and o.coded and o.code[:3] != entry.code[:3] and words
                      and words <= work.words_of(o.code) and block and block_of(o.code, tabular) == block
                      and not is_vague(o.code, tabular) and work.same_sentence(entry.spans, o.spans)), None)
        if other is not None:
            work.absorb(entry.code, other.code, "one condition, one code", f"{other.code} names the same condition "
                        "more specifically")


def vaguer_of_two(work: Worklist) -> None:
    """Two unspecified codes of one category, one naming all the other names and more: "chronic AFib" I48.20 beside
    "AFib" I48.91 is one chronic atrial fibrillation."""
    coded = work.coded()
    filler = title_words("unspecified")
    for entry in coded:
        words = work.words_of(entry.code) - filler
        wider = next((o for o in coded if o is not entry and o.coded and o.code[:3] == entry.code[:3] and words
                      and is_vague(o.code, work.tabular) and words < work.words_of(o.code) - filler), None)
        if entry.coded and wider is not None and is_vague(entry.code, work.tabular):
            work.absorb(entry.code, wider.code, "one condition, one code", f"{wider.code} names the same condition "
                        "more specifically")


def fever_the_notes_name(work: Worklist) -> None:
    """Fever (R50.9) beside a condition whose notes ask for "fever (R50.81)" (neutropenia D70.-): the fever is coded
    as R50.81, fever presenting with conditions classified elsewhere."""
    fever = work.entries.get("R50.9")
    if fever is None or not fever.coded or not work.tabular.is_billable("R50.81"):
        return
    asking = next((e for e in work.coded() if any("R50.81" in line for line in
                                                  work.tabular.inherited_notes(e.code).use_additional)), None)
    if asking is not None:
        why = f"{asking.code}'s notes ask for the fever it presents with"
        work.add("R50.81", list(fever.suggestion.evidence), "use additional", why, fever.suggestion.score,
                 "tabular-list")
        work.absorb("R50.9", "R50.81", "use additional", why)


def _organism_named(work: Worklist) -> None:
    coded = work.coded()
    titles = {e.code: _title(e.code, work) for e in coded}
    text = work.analysis.text.lower()
    resistant = bool(re.search(r"\bmrsa\b|\bsarm\b|methicillin[- ]resistant|resistente a (?:la )?meticilina", text))
    susceptible = bool(re.search(r"\bmssa\b|\bsasm\b|methicillin[- ](?:susceptible|sensitive)|sensible a (?:la )?"
                                 r"meticilina", text))
    for entry in coded:
        title = titles[entry.code]
        strain = next((s for s in _STRAINS if s in title), "")
        if strain and resistant != susceptible and (strain == _STRAINS[0]) != resistant:
            wanted = _STRAINS[0] if resistant else _STRAINS[1]
            named = [o for o in coded if o is not entry and wanted in titles[o.code]]
            if named:
                work.absorb(entry.code, named[0].code, "one condition, one code",
                            f"the note says {wanted} staphylococcus aureus")
                continue
        if not entry.code.startswith(_ORGANISM_CODES):
            continue
        organism = re.sub(r"^(?:unspecified|other) ", "", re.sub(r"\s*[([][^)\]]*[)\]]", "", _AS_CAUSE.sub("", title)).strip())
        organism = organism[:-3] if len(organism) > 8 else organism  # "streptococc(us)" in "streptococcal"
        named = [o for o in coded if o is not entry and not o.code.startswith(_ORGANISM_CODES) and organism
                 and organism in titles[o.code]]
        if named:
            work.absorb(entry.code, named[0].code, "one condition, one code",
                        f"{named[0].code}'s title already names the organism")


STATED_WORDS_FILE = PROJECT_ROOT / "data" / "conventions" / "stated_words.toml"


@lru_cache(maxsize=1)
def _stated_words() -> tuple[dict[str, str], ...]:
    with STATED_WORDS_FILE.open("rb") as handle:
        return tuple(tomllib.load(handle).get("code", []))


def unstated_kinds(work: Worklist) -> None:
    """A code naming a kind of the condition the note does not say ("RLL pneumonia" is not lobar pneumonia) gives way
    to the code of what the note says (J18.9)."""
    text = work.analysis.text
    for rule in _stated_words():
        entry = work.entries.get(rule["code"])
        pattern = rule.get(work.analysis.language, "")
        if entry is None or not entry.coded or not pattern or any(
                work.analysis.assertion_of(m.start(), m.end())[0] not in NOT_CODED
                for m in re.finditer(pattern, text, re.IGNORECASE)):
            continue  # said, and not denied ("rapid strep negative" says no streptococcus)
        work.demote(entry.code, "tabular validator", f"the note does not say what {entry.code} names")
        instead = rule.get("instead", "")
        absorbed = [e for e in work.entries.values() if e.absorbed_by == entry.code and e.code != instead]
        if instead and work.tabular.is_billable(instead):
            work.add(instead, list(entry.suggestion.evidence), "tabular validator",
                     f"what the note says: {work.tabular.description(instead)}", entry.suggestion.score,
                     entry.suggestion.source)
            for other in absorbed:  # the fever of "RLL pneumonia" stays J18.9's integral sign
                other.absorbed_by = instead
        else:  # "CAD" absorbed by the I21.B a "with" walk reached is coded again
            for other in absorbed:
                work.promote(other.code, "tabular validator", f"{entry.code}, which had absorbed it, is not said")


# A dementia's stated severity (FY2023): the unspecified-severity codes F01.5-, F02.8-, F03.9- become F0x.A- (mild),
# F0x.B- (moderate) or F0x.C- (severe) with the same behavior characters ("moderate dementia with agitation" F02.B11).
_UNSPECIFIED_SEVERITY = ("F01.5", "F02.8", "F03.9")
_SEVERITY = {
    "en": re.compile(r"\b(mild|moderate|severe)\s+(?:[\w']+\s+){0,3}?dementia|dementia\b(?:(?! and | also | with | w/ )[^.;\n]){0,30}?"
                     r"\b(mild|moderate|severe)\b", re.IGNORECASE),
    "es": re.compile(r"\bdemencia\s+(?:[\w']+\s+){0,3}?(leve|moderad[oa]|grave|sever[oa])\b|\b(leve|moderada|grave|"
                     r"severa)\s+demencia", re.IGNORECASE),
}
_SEVERITY_LETTER = {"mild": "A", "leve": "A", "moderate": "B", "moderada": "B", "moderado": "B", "severe": "C",
                    "grave": "C", "severa": "C", "severo": "C"}


def dementia_severity(work: Worklist) -> None:
    pattern = _SEVERITY.get(work.analysis.language)
    if pattern is None:
        return
    for entry in list(work.coded()):
        if not entry.code.startswith(_UNSPECIFIED_SEVERITY) or not entry.spans:
            continue
        left, right = work.analysis.sentences.sentence_bounds(*entry.spans[0])
        found = pattern.search(work.analysis.text, left, right)
        if found is None:
            continue
        word = (found.group(1) or found.group(2)).lower()
        code = f"{entry.code[:4]}{_SEVERITY_LETTER[word]}{entry.code[5:]}"
        if work.tabular.is_billable(code):
            work.add(code, list(entry.suggestion.evidence), "tabular validator", f"the note says {word} dementia",
                     entry.suggestion.score, entry.suggestion.source)
            work.absorb(entry.code, code, "one condition, one code", f"the note says {word} dementia")


# A dementia "with" the disturbance the note states (F02.B11 "moderate, with agitation", F03.92 "with psychotic
# disturbance"): the code's fifth and sixth characters after the severity; the symptom codes are then part of it.
_DEMENTIA = ("F01", "F02", "F03")
_DISTURBANCES = (
    ("11", re.compile(r"\b(?:agitat\w*|aggress\w*|combative|yelling|hitting|striking|violent|agitaci[oó]n|agitad[oa]|"
                      r"agresiv\w*|heteroagresiv\w*)", re.IGNORECASE), ("R45.1", "R45.6", "R45.87", "R46.8")),
    ("2", re.compile(r"\b(?:hallucinat\w*|delusion\w*|paranoi\w*|psychotic|alucinaci\w*|delirios?|ideas delirantes)",
                     re.IGNORECASE), ("R44", "R41.0")),
)


def dementia_disturbance(work: Worklist) -> None:
    for entry in list(work.coded()):
        if not entry.code.startswith(_DEMENTIA) or "without behavioral disturbance" not in \
                work.tabular.description(entry.code):
            continue
        for suffix, pattern, symptoms in _DISTURBANCES:
            found = affirmed(pattern, work.analysis.text)
            code = f"{entry.code[:5]}{suffix}"
            if found is None or not work.tabular.is_billable(code):
                continue
            work.add(code, list(entry.suggestion.evidence), "tabular validator",
                     f"the note says '{found.group()}': {work.tabular.description(code)}", entry.suggestion.score,
                     entry.suggestion.source)
            work.absorb(entry.code, code, "one condition, one code", f"the note says '{found.group()}'")
            for other in work.coded():
                if other.code.startswith(symptoms):
                    work.absorb(other.code, code, "integral symptom", f"{code} names the disturbance")
            break
    staged = {e.code[:3]: e.code for e in work.coded() if e.code.startswith(_DEMENTIA) and e.code[4:5] in ("A", "B", "C")}
    for entry in work.coded():  # F02.811 beside F02.B11: the dementia with its stage is the one condition
        if entry.code[:3] in staged and entry.code[4:5] in ("8", "9"):
            work.absorb(entry.code, staged[entry.code[:3]], "one condition, one code", "the note gives the stage")


def dementia_of_known_cause(work: Worklist) -> None:
    """A dementia coded in a disease classified elsewhere (F02.B11 with G30.9) or as vascular (F01) is not also an
    unspecified dementia (F03.B11, read from "dementia, moderate, with agitation" alone)."""
    coded = work.coded()
    known = next((e for e in coded if e.code.startswith(("F01", "F02"))), None)
    if known is None:
        return
    for entry in coded:
        if entry.code.startswith("F03"):
            work.absorb(entry.code, known.code, "one condition, one code", f"{known.code} names the dementia's cause")


_FLARE = re.compile(r"\b(?:asthma|asma)\w*\b[^.;\n]{0,40}?\b(?:exacerbat\w*|flare|attack|agudizaci[oó]n|agudizad[oa]|crisis|"
                    r"exacerbaci[oó]n)|\b(?:exacerbat\w*|flare|attack|agudizaci[oó]n|crisis|exacerbaci[oó]n)\w*\b"
                    r"[^.;\n]{0,15}?\b(?:of )?(?:asthma|asm[aá]tica|asma)\b", re.IGNORECASE)


def asthma_severity_and_flare(work: Worklist) -> None:
    """An asthma whose severity one sentence gives (J45.40 "moderate persistent") and whose exacerbation another
    does ("Dx: asthma exacerbation" J45.901): one asthma, J45.41."""
    coded = work.coded()
    graded = [e for e in coded if re.fullmatch(r"J45\.[2-5]0", e.code)]
    if len(graded) != 1:
        return
    flare = next((e for e in coded if e.code in ("J45.901", "J45.902")), None)
    status = flare.code[-1] if flare is not None else ("1" if _FLARE.search(work.analysis.text) else "")
    if not status or not _not_negated_flare(work):
        return
    code = graded[0].code[:-1] + status
    entry = graded[0]
    work.add(code, list(entry.suggestion.evidence), "specificity", f"the note gives {work.tabular.description(code)}",
             entry.suggestion.score, "index-navigator")
    for old in (entry, flare):
        if old is not None:
            work.absorb(old.code, code, "one condition, one code", f"{code} names its severity and its exacerbation")


def _not_negated_flare(work: Worklist) -> bool:
    return not re.search(r"\b(?:no|without|sin|denies|history of|hx of)\s+(?:\w+\s+)?(?:exacerbat|agudizaci|attack|flare|"
                         r"crisis)", work.analysis.text, re.IGNORECASE)


# Lower urinary tract symptoms (Hyperplasia, prostate > with lower urinary tract symptoms, N40.1 / N40.3): frequency,
# nocturia, hesitancy, weak stream, incomplete emptying, urgency, straining, retention, urge incontinence.
_LUTS = ("R35", "R39.1", "R39.9", "R33", "N39.41", "N39.3")
_PROSTATE_WITH_LUTS = {"N40.0": "N40.1", "N40.2": "N40.3"}


def prostate_with_symptoms(work: Worklist) -> None:
    """An enlarged prostate coded beside a lower urinary tract symptom ("BPH w/ nocturia") is the index's "with lower
    urinary tract symptoms" code (N40.1); the symptom stays coded (N40.1: use additional code for associated
    symptoms)."""
    coded = work.coded()
    symptom = next((e for e in coded if e.code.startswith(_LUTS)), None)
    if symptom is None:
        return
    if any(e.code in ("N40.1", "N40.3") or e.code in _PROSTATE_WITH_LUTS for e in coded):
        taken = {span for e in coded if e.code.startswith(_LUTS) for span in e.spans}
        for other in work.candidates():  # each symptom the note names is coded ("nocturia and weak stream")
            if other.code.startswith(_LUTS) and other.spans and not taken & set(other.spans) \
                    and not other.absorbed_by and other.only("present") and work.codable(other) \
                    and work.tabular.is_billable(other.code):
                work.promote(other.code, "use additional", "a lower urinary tract symptom of the enlarged prostate")
                taken |= set(other.spans)
    for entry in coded:
        code = _PROSTATE_WITH_LUTS.get(entry.code)
        if code:
            work.add(code, [*entry.suggestion.evidence, *symptom.suggestion.evidence], "combination",
                     f"Hyperplasia, prostate > with lower urinary tract symptoms ({symptom.code}) → {code}",
                     entry.suggestion.score, "index-navigator")
            work.absorb(entry.code, code, "one condition, one code", f"{code} names the prostate with its symptoms")


_OBSTRUCTED = re.compile(r"\b(?:incarcerat\w*|irreducible|obstruct\w*|strangulat\w*|incarcerad\w*|irreductible\w*|"
                         r"estrangulad\w*)\b", re.IGNORECASE)
_UNOBSTRUCTED = "without obstruction or gangrene"


def obstructed_hernia(work: Worklist) -> None:
    """A hernia the note calls incarcerated or irreducible, in the sentence that names it, is coded "with
    obstruction" (Hernia > incarcerated: see Hernia, by site, with obstruction): K40.90 becomes K40.30."""
    text, sentences = work.analysis.text, work.analysis.sentences
    for entry in list(work.coded()):
        title = work.tabular.description(entry.code)
        if not ("K40" <= entry.code[:3] <= "K46") or _UNOBSTRUCTED not in title:
            continue
        bounds = {sentences.sentence_bounds(a, b) for a, b in entry.spans}
        if not any(work.analysis.assertion_of(m.start(), m.end())[0] == "present"
                   for left, right in bounds for m in _OBSTRUCTED.finditer(text, left, right)):
            continue
        wanted = title.replace(_UNOBSTRUCTED, "with obstruction, without gangrene")
        code = next((c for c in work.tabular.billable_descendants(entry.code[:3])
                     if work.tabular.description(c) == wanted), "")
        if code:
            why = f"the note says the hernia is incarcerated or irreducible: {wanted}"
            work.add(code, list(entry.suggestion.evidence), "specificity", why, entry.suggestion.score,
                     entry.suggestion.source)
            work.absorb(entry.code, code, "one condition, one code", why)


# A lesion of the digestive tract coded "without hemorrhage" and its "with hemorrhage" sibling.
_WITH_BLEEDING = {"K25.3": "K25.0", "K25.7": "K25.4", "K25.9": "K25.4", "K26.3": "K26.0", "K26.7": "K26.4",
                  "K26.9": "K26.4", "K27.3": "K27.0", "K27.7": "K27.4", "K27.9": "K27.4", "K28.3": "K28.0",
                  "K28.7": "K28.4", "K28.9": "K28.4", "I85.00": "I85.01", "I85.10": "I85.11", "K57.30": "K57.31",
                  "K57.90": "K57.91", "K57.10": "K57.11", "K57.50": "K57.51", "K29.00": "K29.01", "K29.70": "K29.71",
                  "K29.50": "K29.51", "K29.20": "K29.21"}
_BLEEDING = re.compile(r"\b(?:melena|melaena|melenas|hematemesis|hemat[oó]quecia|hematochezia|coffee[- ]ground|"
                       r"GI (?:bleed|bleeding|hemorrhage)|(?:upper|lower) GI bleed\w*|UGIB|LGIB|HDA|HDB|"
                       r"hemorragia digestiva|visible vessel|vaso visible|(?:active|actively) bleeding|"
                       r"sangrado activo|con sangrado|bleeding (?:ulcer|varices)|(?:ulcer|varices) (?:with|w/) bleeding|"
                       r"rotura de varices|variceal (?:bleed|hemorrhage))\b", re.IGNORECASE)


def bleeding_lesion(work: Worklist) -> None:
    """An ulcer, varices, gastritis or diverticula coded without hemorrhage in a note that gives the bleeding (melena,
    hematemesis, "HDA", a visible vessel): the index's "with hemorrhage" code (Ulcer, duodenal > with hemorrhage
    K26.4); the melena is that code's (integral)."""
    text = work.analysis.text
    found = next((m for m in _BLEEDING.finditer(text)
                  if work.analysis.assertion_of(m.start(), m.end())[0] == "present"), None)
    if found is None:
        return
    for entry in list(work.coded()):
        code = _WITH_BLEEDING.get(entry.code)
        if code and work.tabular.is_billable(code):
            work.add(code, [*entry.suggestion.evidence], "combination", f"'{found.group()}': the bleeding of the "
                     f"lesion, {work.tabular.description(code)}", entry.suggestion.score, "index-navigator")
            work.absorb(entry.code, code, "one condition, one code", f"{code} names the lesion with its bleeding")


_INTRACTABLE = re.compile(r"(?<!not )(?<!non-)(?<!no )\b(?:intractable|refractory|pharmaco-?resistant|drug[- ]resistant|"
                          r"intratable|refractaria|farmacorresistente)\b", re.IGNORECASE)
_STATUS_EPILEPTICUS = re.compile(r"\bstatus epilepticus\b|\b(?:estado|estatus|status) epil[eé]ptico\b", re.IGNORECASE)


def one_epilepsy(work: Worklist) -> None:
    """A patient has one epilepsy: its most specific code, with the intractability and the status epilepticus the
    note states ("medically refractory ... admitted in status epilepticus": G40.209 → G40.211); the other G40 codes
    read from the same story give way to it."""
    text = work.analysis.text
    epilepsies = [e for e in work.coded() if re.fullmatch(r"G40\.\d[01][19]", e.code)]
    if not epilepsies:
        return
    said = frozenset(term_key(text, work.analysis.language))  # "complex partial" said: G40.2, not G40.1 "simple"
    main = min(epilepsies, key=lambda e: (e.code.startswith("G40.9"), -len(work.words_of(e.code) & said),
                                          min(a for a, _ in e.spans) if e.spans else 0))
    intractable = any(work.stated(_INTRACTABLE))
    status = any(work.stated(_STATUS_EPILEPTICUS))
    code = f"{main.code[:5]}{'1' if intractable else '0'}{'1' if status else '9'}"
    if code != main.code and work.tabular.is_billable(code):
        work.add(code, list(main.suggestion.evidence), "specificity", f"the note gives the epilepsy as "
                 f"{'intractable' if intractable else 'not intractable'}, {'with' if status else 'without'} status "
                 "epilepticus", main.suggestion.score, "tabular-list")
    for entry in epilepsies:
        if entry.code != code:
            work.absorb(entry.code, code, "one condition, one code", f"one epilepsy: {code}")
