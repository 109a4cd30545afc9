"""One reading of a note that every step shares (spaCy's ``Doc`` idea): computed once per coding run.

It holds the sentences and clauses, the sections a clinical note is written in (problem list, history, medications,
assessment, family history ...), the abbreviations written out, every dictionary match (the shadowed ones too) with
what the note says about it (assertion and its cue, side, section), the status readings (weeks of gestation, BMI,
long-term drugs, devices) and the specificity readings (CKD stage, heart-failure type and acuity). The dictionary, the index navigator, the ranker, the rules, the LLM steps and the
merge read this object instead of splitting the note or matching the dictionary again.

The dictionary reads a *matching view* of the note: abbreviations written out ("DM2" → "type 2 diabetes mellitus"),
and the brackets of a short parenthesis blanked so that a nonessential word does not block a term ("acute on chronic
systolic (congestive) heart failure"). Offsets of every match point into the note itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from core.nlp.abbreviations import ExpandedText, expand, unsettled_abbreviations
from core.nlp.assertion import AssertionDetector
from core.nlp.laterality import eye_heading, side_near
from core.nlp.readings import Reading, read_specificity
from core.nlp.sentences import SentenceIndex
from core.nlp.status_codes import StatusMatch, status_matches
from core.schema import Assertion

if TYPE_CHECKING:
    from core.candidates.linker import DictionaryLinker, RawMatch

# A parenthesis of at most this many words is read as part of the sentence around it ("(congestive)", "(HFrEF)").
SHORT_PARENTHESIS_WORDS = 3
_SHORT_PARENTHESIS = re.compile(r"\(([^()\n]{1,40})\)")

SECTION_KINDS = ("problem_list", "history", "surgical_history", "family_history", "social_history", "medications",
                 "allergies", "assessment", "present_illness", "exam", "results", "plan", "other")
# Headings as clinicians write them, each followed by ":" (at a line start or after a sentence).
_HEADINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "problem_list": ("problem list", "problems", "active problems", "chronic problems", "pl"),
        "history": ("pmh", "past medical history", "medical history", "pmhx", "history", "hx"),
        "surgical_history": ("psh", "past surgical history", "surgical history"),
        "family_history": ("fh", "fhx", "family history", "family hx"),
        "social_history": ("sh", "social history", "social hx", "social"),
        "medications": ("meds", "medications", "home meds", "home medications", "current medications",
                        "medication list", "discharge medications", "rx"),
        "allergies": ("allergies", "allergy", "nkda"),
        "assessment": ("assessment", "a", "a/p", "assessment and plan", "assessment/plan", "impression", "dx",
                       "diagnosis", "diagnoses", "discharge diagnosis", "discharge diagnoses", "final diagnosis",
                       "final diagnoses", "principal diagnosis", "secondary diagnoses", "a&p", "imp", "postop dx", "post-op dx", "postoperative diagnosis",
                       "postoperative diagnoses", "post-op diagnosis", "preop/postop dx", "pre-op/post-op dx",
                       "pre/postop dx", "preop dx", "pre-op dx", "preoperative diagnosis",
                       "preoperative/postoperative diagnosis", "pre- and postoperative diagnosis", "principal",
                       "principal dx", "secondary dx"),
        "present_illness": ("hpi", "history of present illness", "cc", "chief complaint", "reason for visit",
                             "subjective"),
        "exam": ("exam", "pe", "physical exam", "physical examination", "ros", "review of systems", "vitals"),
        "results": ("labs", "imaging", "results", "ct", "cxr", "x-ray", "xr", "mri", "ekg", "ecg", "echo",
                    "duplex", "pathology", "path", "findings"),
        "plan": ("plan", "p", "disposition", "follow-up", "follow up", "procedure", "procedures", "procedure performed",
                 "operation", "operation performed", "indication", "indications", "anesthesia", "technique",
                 "description of procedure", "ebl"),
    },
    "es": {
        "problem_list": ("lista de problemas", "problemas activos", "problemas"),
        "history": ("antecedentes personales", "antecedentes", "ap", "app", "antecedentes medicos",
                    "antecedentes patologicos", "historia clinica"),
        "surgical_history": ("antecedentes quirurgicos", "aq", "intervenciones quirurgicas", "iq previas"),
        "family_history": ("antecedentes familiares", "af", "historia familiar"),
        "social_history": ("habitos toxicos", "habitos", "historia social"),
        "medications": ("tratamiento habitual", "tratamiento", "medicacion", "medicacion habitual", "tto habitual",
                        "tto", "tratamiento actual", "tratamiento al alta"),
        "allergies": ("alergias", "alergia", "ramc", "namc"),
        "assessment": ("juicio clinico", "jc", "diagnostico", "diagnosticos", "diagnostico principal",
                       "diagnosticos secundarios", "diagnostico final", "diagnosticos al alta", "impresion diagnostica",
                       "orientacion diagnostica", "valoracion", "diagnostico postoperatorio", "dx", "dx principal",
                       "dx secundarios", "dx al alta"),
        "present_illness": ("enfermedad actual", "motivo de consulta", "mc", "anamnesis"),
        "exam": ("exploracion", "exploracion fisica", "ef", "constantes"),
        "results": ("pruebas complementarias", "analitica", "radiografia", "rx", "tac", "ecografia", "ecg",
                    "resultados", "anatomia patologica"),
        "plan": ("plan", "recomendaciones", "evolucion", "seguimiento"),
    },
}


def _heading_pattern(language: str) -> re.Pattern[str]:
    words = sorted({(w, kind) for kind, ws in _HEADINGS.get(language, _HEADINGS["en"]).items() for w in ws},
                   key=lambda pair: -len(pair[0]))
    alternatives = "|".join(f"(?P<{kind}_{i}>{re.escape(w)})" for i, (w, kind) in enumerate(words))
    bare = "|".join(f"(?P<{kind}_b{i}>{re.escape(w)})" for i, (w, kind) in enumerate(words) if w in _BARE_HEADINGS)
    bare = rf"|(?:{bare})(?=[^\S\n]+\w)" if bare else ""
    return re.compile(rf"(?:^|(?<=[\n.;])|(?<=[.;]\s))[^\S\n]*(?:(?:{alternatives})[^\S\n]*:{bare})",
                      re.IGNORECASE | re.MULTILINE)


# Abbreviated headings that open a sentence without a colon ("FHx: mother CVA. PMH HTN, HLD."): nothing else starts a
# sentence with them.
_BARE_HEADINGS = frozenset({"pmh", "pmhx", "psh", "fhx", "a/p", "hpi", "meds"})


_HEADING_PATTERNS = {language: _heading_pattern(language) for language in _HEADINGS}


@dataclass(frozen=True, slots=True)
class Section:
    kind: str  # one of SECTION_KINDS
    heading: str  # as written ("PMH:"); "" for the text before the first heading
    start: int
    end: int


_ONE_LINE_SECTIONS = frozenset({"history", "surgical_history", "social_history", "allergies"})
_PAST_SECTIONS = _ONE_LINE_SECTIONS | {"family_history"}
# A sentence that starts the story of this visit ends a past-history, social, family or allergy section.
_PRESENT_ILLNESS = re.compile(r"(?:(?<=[.;]\s)|(?<=[.;]\s\s)|(?<=\n))[^\S\n]*(?:(?:\d{1,3}\s?(?:yo|y/o|[MF])\s+)?"
                              r"(?:admitted|presents?|presented|here (?:for|with|today)|comes? in|c/o|complains|"
                              r"ingresa|ingresado|ingresada|acude|consulta por)\b)", re.IGNORECASE)
_LIST_ITEM = re.compile(r"[^\S\n]*(?:[-•*]|\d+[.)]\s)")


def find_sections(text: str, language: str) -> list[Section]:
    """The note cut at its headings ("PMH:", "Meds:", "Assessment:", "Antecedentes personales:"); text before the
    first heading, or in a note without headings, is one section of kind ``other``."""
    pattern = _HEADING_PATTERNS.get(language, _HEADING_PATTERNS["en"])
    found: list[tuple[int, int, str]] = []
    for match in pattern.finditer(_fold(text)):
        kind = next(name for name, value in match.groupdict().items() if value is not None).rsplit("_", 1)[0]
        if language == "es" and match.group().strip().lower().startswith("ap") and \
                text[text.rfind("\n", 0, match.start()) + 1 : match.start()].strip():
            kind = "results"  # "Colonoscopia: neoplasia en sigma; AP: adenocarcinoma": anatomía patológica
        found.append((match.start(), match.end(), kind))
    sections: list[Section] = []
    if not found or found[0][0] > 0:
        sections.append(Section("other", "", 0, found[0][0] if found else len(text)))
    for number, (start, end, kind) in enumerate(found):
        stop = found[number + 1][0] if number + 1 < len(found) else len(text)
        now = _PRESENT_ILLNESS.search(text, end, stop) if kind in _PAST_SECTIONS else None
        if now is not None:  # "PMH: HTN. Admitted for CAP ...": the visit's own story starts there
            sections.append(Section(kind, text[start:end].strip(), start, now.start()))
            sections.append(Section("present_illness", "", now.start(), stop))
            continue
        line_end = text.find("\n", end, stop)
        own_line = text[end:line_end].strip() if line_end > 0 else ""
        if own_line and (kind == "family_history" or kind in _ONE_LINE_SECTIONS and own_line.endswith(".")
                         and not _LIST_ITEM.match(text, line_end + 1)):
            # "AF: madre con cáncer de mama.\nMamografía de cribado: ...": a family history written on the heading's
            # own line ends there; the next line is the patient's again. So does a past history written as sentences
            # ("AP: HTA a tto. Exfumador.\nIngresa por fiebre"), unless the next line goes on with its list.
            sections.append(Section(kind, text[start:end].strip(), start, line_end))
            sections.append(Section("other", "", line_end, stop))
            continue
        sections.append(Section(kind, text[start:end].strip(), start, stop))
    return sections


def _fold(text: str) -> str:
    """Lower-case, accent-free, same length (offsets carry over)."""
    import unicodedata

    out = []
    for ch in text.lower():
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base if len(base) == 1 else ch)
    return "".join(out)


def matching_view(expanded: ExpandedText) -> str:
    """The text the dictionary reads (same length as the expanded text): the brackets of short parentheses blanked,
    and a comma next to a written-out abbreviation made a clause break, since a list of abbreviations ("COPD, CKD
    3a, T2DM") is a list of conditions, not one term."""

    def blank(match: re.Match[str]) -> str:
        inside = match.group(1)
        return f" {inside} " if len(inside.split()) <= SHORT_PARENTHESIS_WORDS else match.group()

    text = list(_SHORT_PARENTHESIS.sub(blank, expanded.text))
    for _, low, high in expanded.inserted_spans():
        for position in (_next_char(text, high, 1), _next_char(text, low - 1, -1)):
            if position is not None and text[position] == ",":
                text[position] = ";"
    return "".join(text)


def _next_char(text: list[str], start: int, step: int) -> int | None:
    position = start
    while 0 <= position < len(text) and text[position] == " ":
        position += step
    return position if 0 <= position < len(text) else None


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One dictionary match in the note, with what the note says about it."""

    start: int  # offsets into the note
    end: int
    key: tuple[str, ...]  # the linker rule it matched
    gapped: bool  # one extra word inside the span
    shadowed: bool  # lost to an overlapping longer match (kept for the ranker)
    assertion: Assertion
    cue: str
    side: str  # "right" | "left" | "bilateral" | ""
    section: str  # kind of the section it is in
    expanded: bool = False  # found through a written-out abbreviation


@dataclass
class NoteAnalysis:
    text: str
    language: str
    sentences: SentenceIndex
    assertions: AssertionDetector
    expanded: ExpandedText
    sections: list[Section]
    matches: list[TermMatch] = field(default_factory=list)
    status: list[StatusMatch] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)  # CKD stage, heart-failure type and acuity

    @property
    def mentions(self) -> list[TermMatch]:
        """The matches that won their words (what the dictionary path codes from)."""
        return [m for m in self.matches if not m.shadowed]

    def section_at(self, offset: int) -> Section:
        for section in reversed(self.sections):
            if section.start <= offset:
                return section
        return self.sections[0]

    def assertion_of(self, start: int, end: int) -> tuple[Assertion, str]:
        """Assertion of any span of the note: the rules, then the section (a family-history section makes a
        condition the family's). Read once per span: the matches, the ranker and many rules ask again."""
        found = self._assertions_read.get((start, end))
        if found is None:
            found = self._assertions_read[start, end] = self._assertion_of(start, end)
        return found

    @cached_property
    def _assertions_read(self) -> dict[tuple[int, int], tuple[Assertion, str]]:
        return {}

    def _assertion_of(self, start: int, end: int) -> tuple[Assertion, str]:
        assertion, cue = self.assertions.classify(start, end)
        section = self.section_at(start)
        if assertion in ("present", "historical", "possible") and section.kind == "family_history":
            return "family", section.heading
        if assertion in ("present", "possible") and _TEST_AFTER.match(self.text, end):
            return "hypothetical", "a test or a vaccine"  # "stress test ordered", "flu pending", "tetanus UTD"
        if assertion in ("present", "historical", "possible") and section.kind == "allergies":
            return "hypothetical", section.heading  # "Allergies: sulfa (rash)": a reaction the drug would cause
        return assertion, cue

    def side_of(self, start: int, end: int) -> str:
        bounds = self.sentences.clause_bounds(start, end)
        return side_near(self.text, start, end, bounds, self.language) or eye_heading(self.text, bounds[0])

    @cached_property
    def unrelated_cues(self) -> list[tuple[int, int]]:
        """Sentences that say two conditions are not linked ("unrelated to", "not due to", "no relacionad")."""
        pattern = _UNRELATED.get(self.language, _UNRELATED["en"])
        return [self.sentences.sentence_bounds(m.start(), m.end()) for m in pattern.finditer(self.text.lower())]


# A condition word followed by a test, a pending result or a vaccine names the test or the vaccine, not the condition.
_TEST_AFTER = re.compile(r"[ \t]*(?:tests?|testing|swabs?|assay|pending|pendiente|vaccines?|vaccination|shots?|booster|"
                         r"immunization|utd|up to date|unknown|echo|echocardiogram|vacunas?|vacunaci[oó]n)\b(?![ \t]*(?:(?:was|is|came "
                         r"back|returned|result)[ \t]+)?(?:positive|\+|pos\b|confirm))", re.IGNORECASE)
_UNRELATED = {
    "en": re.compile(r"\bunrelated\b|\bnot (?:related|due|caused|secondary|attributed)\b|\bnot from\b|"
                     r"\bnon-?diabetic\b|\bnon-?hypertensive\b|\bother cause\b"),
    "es": re.compile(r"\bno relacionad[oa]s?\b|\bsin relaci[oó]n\b|\bno (?:debid[oa]|secundari[oa])s?\b|"
                     r"\bno diab[eé]tic[oa]\b|\bno hipertensiv[oa]\b|\bde otra causa\b"),
}


def _status_readings(expanded: ExpandedText, language: str) -> list[StatusMatch]:
    """Status codes read in the note, and those whose treatment or device the note abbreviates ("ESRD on HD MWF",
    "ASA 81 mg daily"), read in its written-out text; a written-out abbreviation never serves as another's cue
    ("COPD ... steroids" is no chronic steroid use)."""
    found = status_matches(expanded.original, language)
    if not expanded.expansions:  # nothing written out: the second reading could add nothing
        return sorted(set(found), key=lambda m: (m.start, m.code))
    for match in status_matches(expanded.text, language):
        if expanded.expansions_in(match.start, match.end):
            start, end = expanded.to_original(match.start, match.end)
            found.append(StatusMatch(start, end, match.code))
    return sorted(set(found), key=lambda m: (m.start, m.code))


def analyze(text: str, language: str, linker: DictionaryLinker | None = None) -> NoteAnalysis:
    """Read ``text`` once: sentences, sections, abbreviations, status readings and, with a linker, every dictionary
    match with its assertion, side and section."""
    sentences = SentenceIndex(text, language)
    expanded = expand(text, language)
    analysis = NoteAnalysis(
        text=text, language=language, sentences=sentences,
        assertions=AssertionDetector(text, language, sentences=sentences),
        expanded=expanded, sections=find_sections(text, language),
        status=_status_readings(expanded, language),
        readings=read_specificity(text, language, sentences),
    )
    if linker is not None:
        analysis.matches = read_matches(analysis, linker)
    return analysis


def _covers_an_expansion(expanded: ExpandedText, start: int, end: int) -> bool:
    """The match reads a written-out abbreviation: the whole of it ("HTN" as "hypertension") or more than one word
    of it ("HFrEF" as "heart failure"); the one word "acute" of "ADHF", or the "right" of "RUE", is no diagnosis."""
    inside = [(s, e) for _, s, e in expanded.inserted_spans() if s < end and start < e]
    return bool(inside) and (any(start <= s and e <= end for s, e in inside)
                             or len(re.findall(r"\w{3,}", expanded.text[start:end])) > 1)


def read_matches(analysis: NoteAnalysis, linker: DictionaryLinker) -> list[TermMatch]:
    """Every match of ``linker`` in the note (one dictionary pass over the matching view), in note order."""
    expanded = analysis.expanded
    raw: list[RawMatch] = linker.find(matching_view(expanded), shadowed=True)
    headings = [(s.start, s.start + len(s.heading)) for s in analysis.sections if s.heading]
    unsettled = unsettled_abbreviations(analysis.text, analysis.language, expanded)
    matches: list[TermMatch] = []
    for match in raw:
        start, end = expanded.to_original(match.start, match.end)
        if end <= start:
            continue
        if any(a <= start and end <= b for a, b in headings) or (start, end) in unsettled:
            continue  # "PE:" heads the exam, it is no pulmonary embolism
        assertion, cue = analysis.assertion_of(start, end)
        matches.append(TermMatch(
            start=start, end=end, key=match.key, gapped=match.gapped, shadowed=match.shadowed, assertion=assertion,
            cue=cue, side=analysis.side_of(start, end), section=analysis.section_at(start).kind,
            expanded=_covers_an_expansion(expanded, match.start, match.end),
        ))
    return sorted(matches, key=lambda m: (m.start, m.shadowed, -(m.end - m.start)))
