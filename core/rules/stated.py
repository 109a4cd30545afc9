"""Stated diagnoses: a diagnosis the provider lists in an assessment, a problem list or a past history is coded in
the words the provider used, even when the ranker doubts it."""

from __future__ import annotations

from core.candidates.linker import DictionaryLinker
from core.candidates.navigator import is_vague
from core.rules.conventions import GENERIC_CODES
from core.rules.generic_words import is_generic
from core.rules.worklist import Worklist, title_words
from core.schema import Span

STATED_SECTIONS = ("assessment", "problem_list", "history")
TRUSTED_SOURCES = ("index", "tabular", "index-see", "learned", "starter", "neoplasm-table", "cie10es-user")


def stated_diagnoses(work: Worklist, linker: DictionaryLinker, winning: dict[tuple[int, int], list[str]]) -> None:
    """A diagnosis the provider lists ("Assessment:", "Dx:", "Problem list:", "PMH:", "Juicio clínico:") in words an
    official index or tabular entry gives is coded, even when the ranker, trained on case reports that code other
    things, doubts it: a coder codes the diagnoses the provider states."""
    tabular = work.tabular
    coded_categories = {e.code[:3] for e in work.coded()}
    coded_said = [work.said(e) for e in work.coded()]
    for match in work.analysis.mentions:
        codes = winning.get((match.start, match.end)) or []
        obstetric = bool(codes) and codes[0].startswith("O") and not codes[0].startswith("O80")
        if match.section not in STATED_SECTIONS and not obstetric and not match.expanded or \
                match.assertion != "present" or is_generic(work, match.start, match.end):
            continue  # one generic word ("ACV isquémico" read as "isquémico") states no diagnosis; a complication of
            # pregnancy in the index's words ("preeclampsia w/o severe features") is one wherever the note says it,
            # and so is a diagnosis the clinician abbreviates ("on atorvastatin for HLD")
        said = work.said_in(match.start, match.end)
        if match.section not in STATED_SECTIONS and not obstetric and codes and not (
                work.words_of(codes[0]) - title_words("unspecified") <= said):
            continue  # an abbreviation outside a list of diagnoses names its code's whole title ("for HLD"), not
            # part of it ("MI done" read as a STEMI, "RUQ" as a back pain)
        if said and any(said < words for words in coded_said):
            continue  # "polyneuropathy" after the coded "Alcoholic polyneuropathy": the same condition again
        rule = linker.rules.get(match.key)
        if not codes or rule is None:
            continue
        code = codes[0]
        if code not in rule.codes and any(
                (m.start, m.end) == (match.start, match.end) and m.key in linker.rules and code in linker.rules[m.key].codes
                for m in work.analysis.mentions):
            continue  # the span's code is another match's at the same words ("ADHF" read as its one word "acute")
        shorter = [e for e in work.coded() if e.code[:3] == code[:3] and e.code != code and e.spans
                   and _read_inside(e.spans, match.start, match.end,
                                    is_vague(e.code, tabular) and not is_vague(code, tabular))]
        if code[0] in "VWXYZ" or code in GENERIC_CODES or code[:3] in coded_categories and not shorter or \
                not tabular.is_billable(code):
            continue  # a code of the category read in fewer of these words gives way ("alcohol use disorder, mild")
        raw = next((c for c in rule.codes if tabular.is_billable(c) and c == code), None) or next(iter(rule.codes))
        sources = rule.codes.get(raw, set())
        if not (any(s.startswith(TRUSTED_SOURCES) for s in sources) or match.expanded):
            continue
        entry = work.entries.get(code)
        if entry is not None and (not work.codable(entry) or entry.absorbed_by):
            continue  # listed for review only, or another code already stands for it (J11.1 under J10.1)
        text = work.analysis.text[match.start : match.end]
        work.add(code, [Span(start=match.start, end=match.end, text=text)], "stated diagnosis",
                 f"'{text}' is listed as a diagnosis ({match.section.replace('_', ' ')})",
                 entry.suggestion.score if entry else 0.5, "dictionary")
        for other in shorter:
            work.absorb(other.code, code, "one condition, one code", f"'{text}' names the condition in full")
        coded_categories.add(code[:3])


def _read_inside(spans: list[tuple[int, int]], start: int, end: int, vague: bool) -> bool:
    """A coded code read in fewer of the stated words: all its evidence inside them, or, for an unspecified code
    beside a specific stated one (``vague``), some of it ("concussion" in "concussion w/ brief LOC" and again in
    "concussion handout" is this diagnosis too)."""
    inside = [start <= a and b <= end and b - a < end - start for a, b in spans]
    return all(inside) or vague and any(inside)
