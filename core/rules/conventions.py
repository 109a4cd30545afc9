"""Convention rules about the codes themselves: one condition one code, the index's combinations, instructional notes
(code first, use additional, Excludes1) and the characters a code must carry (encounter).

Each rule reads and changes a :class:`~core.rules.worklist.Worklist`; every change is logged with its rule and reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.candidates.linker import DictionaryLinker
from core.candidates.navigator import Condition, IndexNavigator, is_vague
from core.kb.tabular import Tabular
from core.nlp.textnorm import term_key
from core.rules.adverse_effects import drug_encounter
from core.rules.etiology import english, severities
from core.rules.generic_words import GENERIC_WORDS
from core.rules.injury import visit_encounter
from core.rules.worklist import STEP, Entry, Worklist, covers, excluded_by, references
from core.schema import Span

# Codes a bare generic word reaches ("disease" R69, "infection" B99.9): inside a longer term they are that term.
GENERIC_CODES = {"R69", "R68.89", "B99.9", "B99.8", "N28.9", "R52", "T14.90XA", "T14.8XXA", "R19.8", "R29.898"}
_TITLE_FILLERS = {"unspecified", "other", "specified", "disease", "diseases", "classified", "elsewhere", "in", "of",
                  "the", "and", "without", "with", "due", "to", "condition", "conditions", "severity", "known",
                  "physiological", "disturbance", "behavioral", "psychotic", "mood", "anxiety"}


def _overlap(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> bool:
    b = list(b)
    return any(s < e2 and s2 < e for s, e in a for s2, e2 in b)


def _inside(inner: Iterable[tuple[int, int]], outer: Iterable[tuple[int, int]]) -> bool:
    outer = list(outer)
    inner = list(inner)
    return bool(inner) and all(any(s2 <= s and e <= e2 for s2, e2 in outer) for s, e in inner)


def _spans(entries: Iterable[Entry]) -> list[Span]:
    seen: dict[tuple[int, int], Span] = {}
    for entry in entries:
        for span in entry.suggestion.evidence:
            seen.setdefault((span.start, span.end), span)
    return sorted(seen.values(), key=lambda s: s.start)


def _needs(code: str, other: str, tabular: Tabular) -> bool:
    """The two are coded together: ``code``'s notes ask for ``other`` (use additional, code also, code first), or
    ``other``'s "code first" names ``code`` (K31.84 gastroparesis: code first the diabetes, E11.43)."""
    notes = tabular.inherited_notes(code)
    lines = [*notes.use_additional, *notes.code_also, *notes.code_first]
    refs = references(lines)
    back = references(tabular.inherited_notes(other).code_first)
    if _asks_for_the_infection(lines) and other[0] in "ABJ":
        return True  # "code also to identify the infection" (J44.0 with its pneumonia)
    if any("underlying" in line.lower() and not references([line]) for line in notes.code_first):
        return True  # "code first underlying disease" (I85.1- secondary varices: the cirrhosis stays coded)
    return any(covers(ref, other) for ref in refs) or any(covers(ref, code) for ref in back)


def _asks_for_the_infection(lines: list[str]) -> bool:
    """A note that asks for the infection without naming a range ("code also to identify the infection", J44.0)."""
    return any("infection" in line.lower() and not references([line]) for line in lines)


def _manifestation_of_another(code: str, combination: str, tabular: Tabular) -> bool:
    """``code`` asks to code first a condition the combination code is not (D63.1 anemia in CKD: code first N18.-,
    not E11.22): the combination names its partner, not this manifestation of it."""
    first = references(tabular.inherited_notes(code).code_first)
    return bool(first) and not any(covers(ref, combination) for ref in first)


# -- one condition, one code ----------------------------------------------------------------------------------------
def specific_over_unspecified(work: Worklist, winning: dict[tuple[int, int], list[str]]) -> None:
    """A vague code (unspecified, without complications) gives way to a specific code of the same category: one the
    note's coding already has, or the one the longest term at its words names ("HFpEF" → I50.30, not the I50.9 of
    the words "heart failure" inside it)."""
    tabular = work.tabular
    for entry in list(work.coded()):
        if not entry.coded:
            continue
        denied = [o for o in work.coded() if o is not entry and contradicted(entry.code, o.code, work)]
        if denied and any(_WITHOUT.search(work.analysis.text, s, e) for s, e in entry.spans):
            work.absorb(denied[0].code, entry.code, "one condition, one code",  # "Concussion w/o LOC"
                        f"the note says the condition is without what {denied[0].code} says it is with")
        elif denied:  # "GERD without esophagitis" next to "GERD with esophagitis": the note says which
            work.absorb(entry.code, denied[0].code, "one condition, one code",
                        f"{denied[0].code} says the condition is with what {entry.code} says it is without")
            continue
        if not is_vague(entry.code, tabular):
            continue
        specific = [o for o in work.coded() if o.code != entry.code and o.code[:3] == entry.code[:3]
                    and not is_vague(o.code, tabular) and kind_of(o.code, entry.code, work)]
        if specific:
            other = specific[0]
            if set(other.spans) == set(entry.spans) and other.suggestion.score < entry.suggestion.score \
                    and not _side_stated(other.code, entry, work):
                # One term read two ways ("fumador": F17.200 or F17.210): the more probable reading stands.
                work.absorb(other.code, entry.code, "one condition, one code",
                            f"the same words; {entry.code} is the more probable reading")
            else:
                work.absorb(entry.code, other.code, "one condition, one code",
                            f"{other.code} names the same condition more specifically")
            continue
        for span, codes in winning.items():
            if not codes or not _overlap([span], entry.spans) or not _names_more(work, span):
                continue
            better = codes[0]  # what the longest term itself names, not the alternatives the dictionary lists
            if better == entry.code or is_vague(better, tabular) and better[:3] == entry.code[:3]:
                continue
            if better[:3] == entry.code[:3]:
                if not kind_of(better, entry.code, work):
                    continue
            elif not (_inside(entry.spans, [span]) and tabular.chapter_of(better) == tabular.chapter_of(entry.code)):
                continue  # another category only when the vague code's words all lie inside the longer term ("DM"
                # in "Type 1 DM")
            if not tabular.is_billable(better):
                continue
            other = work.entries.get(better)
            if other is not None and not work.codable(other):
                continue
            text = work.analysis.text[span[0]:span[1]]
            work.add(better, [Span(start=span[0], end=span[1], text=text)], "most specific code",
                     f"'{text}' names {better} ({tabular.description(better)})", entry.suggestion.score,
                     "dictionary")
            work.absorb(entry.code, better, "one condition, one code", f"'{text}' is more specific")
            break


def _side_stated(code: str, entry: Entry, work: Worklist) -> bool:
    """``code`` names the side the note gives at ``entry``'s words (E11.3591 "right eye" for "retinopathy of the
    right eye"): it is the more specific reading, however the ranker scored the two."""
    named = _SIDE_WORDS & set(re.findall(r"[a-z]+", work.tabular.description(code).lower()))
    return any(work.analysis.side_of(start, end) in named for start, end in entry.spans)


_CORE_FILLERS = {"unspecified", "other", "specified", "nos", "nec", "site", "type", "organism", "part", "initial",
                 "encounter", "uncomplicated", "not", "intractable", "status", "migrainosus", "elsewhere", "classified",
                 "disorder", "disease", "condition", "specifi"}


_WITHOUT = re.compile(r"\b(?:without|w/o|sin)\b", re.IGNORECASE)


def contradicted(without: str, other: str, work: Worklist) -> bool:
    """``without``'s title is "<condition> without <A>" and ``other`` names the same condition with A (K21.9 "GERD
    without esophagitis" and K21.00 "GERD with esophagitis", N40.0 and N40.1, K80.20 and K80.00)."""
    if without[:3] != other[:3] or without == other:
        return False
    title = work.tabular.description(without).lower()
    match = re.match(r"(.+?),? without (.+?)(?:,| without |$)", title)
    if not match:
        return False
    condition, absent = match.group(1), match.group(2)
    _, with_, named = work.tabular.description(other).lower().partition(" with ")  # "with unstable angina pectoris"
    return bool(with_) and frozenset(term_key(absent, "en")) <= frozenset(term_key(named, "en")) and \
        frozenset(term_key(condition, "en")) <= work.words_of(other)


def kind_of(specific: str, vague: str, work: Worklist) -> bool:
    """``specific`` is a kind of the condition ``vague`` names: the words of ``vague``'s title, left its "unspecified"
    and its "without ..." (I50.9 "Heart failure, unspecified" → heart failure), are all in ``specific``'s title
    (I50.23 "Acute on chronic systolic heart failure"). E78.6 "Lipoprotein deficiency" is no kind of E78.5
    "Hyperlipidemia, unspecified", though both are E78."""
    core = work.words_of(vague) - _CORE_FILLERS
    return bool(core) and core <= work.words_of(specific) | _SIDE_WORDS


def _names_more(work: Worklist, span: tuple[int, int]) -> bool:
    """A term of several words, or an abbreviation written out: a single word ("renal") names no type or stage."""
    return len(work.said_in(*span)) > 1


def one_code_per_condition(work: Worklist, winning: dict[tuple[int, int], list[str]]) -> None:
    """Two specific codes of one category that one term names ("acute on chronic diastolic heart failure" read as
    I50.31 and I50.33): the one whose title says what the note says stays."""
    tabular = work.tabular
    coded = [e for e in work.coded() if e.suggestion.step != STEP and not is_vague(e.code, tabular)]
    for entry in coded:
        for other in coded:
            if other is entry or not entry.coded or not other.coded or other.code[:3] != entry.code[:3]:
                continue
            if not any(entry.code in codes and other.code in codes for codes in winning.values()):
                continue
            said = work.said(entry) | work.said(other)
            keep, drop = sorted((entry, other), key=lambda e: (_agreement(work.words_of(e.code), said),
                                                               e.suggestion.score), reverse=True)
            work.absorb(drop.code, keep.code, "one condition, one code",
                        f"{keep.code}'s title is what the note says")


def _agreement(title: frozenset[str], said: frozenset[str]) -> float:
    return len(title & said) / max(len(title | said), 1)


def absorb_subterms(work: Worklist, winning: dict[tuple[int, int], list[str]]) -> None:
    """A code found only in words inside a longer term the note's coding has ("disease" R69 and "kidney disease"
    N28.9 inside "CKD stage 3b" N18.32) is that term's code, unless the longer code asks for it (use additional)."""
    tabular = work.tabular
    for entry in list(work.coded()):
        if entry.suggestion.step == STEP:
            continue  # a code the rules derived (history, combination) stands for the whole condition
        spans = entry.spans
        places = [span for span in winning if any(span[0] <= s and e <= span[1] for s, e in spans)]
        if not places or not _inside(entry.spans, places):
            continue
        if any(entry.code in winning[span] for span in places if not any(
                o != span and _inside([span], [o]) for o in places)):
            continue  # the longest term at these words names this very code
        owners = [o for o in work.coded() if o.code != entry.code and any(o.code in winning[s] for s in places)]
        generic = is_vague(entry.code, tabular) or tabular.description(entry.code).lower().startswith("other")
        one_word = all(len(work.said_in(s, e)) <= 1 for s, e in entry.spans)  # "edema" inside "macular edema"
        owners = [o for o in owners if not _needs(o.code, entry.code, tabular)
                  and not (entry.code[0] == o.code[0] == "C" and not generic)  # "metastatic to brain and bone"
                  and (entry.code in GENERIC_CODES or o.code[:3] == entry.code[:3]  # "mild persistent asthma" in
                       or generic and (one_word or tabular.chapter_of(o.code) == tabular.chapter_of(entry.code))
                       or _shadowed_only(work, entry)
                       or one_word and work.said(entry) <= work.words_of(o.code)  # "scar" in "hypertrophic scar"
                       and tabular.chapter_of(o.code) == tabular.chapter_of(entry.code))]
        if owners:
            work.absorb(entry.code, owners[0].code, "one condition, one code",
                        "found only in words inside a longer term")


def _shadowed_only(work: Worklist, entry: Entry) -> bool:
    """Every word the code was read from lies inside a longer term of the note ("kidney injury" S37.009A inside
    "acute kidney injury" N17.9, "maxillary sinusitis" J32.0 inside "acute maxillary sinusitis" J01.00): the longer
    term names the condition, its shorter reading is not another one."""
    return all(_strictly_inside((start, end), work) for start, end in entry.spans)


def _strictly_inside(span: tuple[int, int], work: Worklist) -> bool:
    return any(m.start <= span[0] and span[1] <= m.end and (m.end - m.start) > (span[1] - span[0])
               for m in work.analysis.mentions)


_ECG_WORDS = re.compile(r"\b(?:ST|PR|T[- ]wave)[- ]?(?:segment\s+)?$", re.IGNORECASE)


def validate_terms(work: Worklist, linker: DictionaryLinker) -> None:
    """The tabular validator's check on an English note: a code that only CodiEsp's projected translations link to
    the note's words, and whose title shares no word with them ("obesity" → I10, "Alzheimer's" → G03.9), is not
    validated: it is left for review. Index, tabular and coders' own terms are trusted."""
    if work.analysis.language != "en":
        return
    by_span: dict[tuple[int, int], list[tuple[str, ...]]] = {}
    for match in work.analysis.matches:
        by_span.setdefault((match.start, match.end), []).append(match.key)
    for entry in list(work.coded()):
        if entry.suggestion.step == STEP:
            continue
        sources: set[str] = set()
        trusted: list[str] = []  # the codes that the index or this project's terms give the same words
        for span in entry.spans:
            for key in by_span.get(span, ()):
                rule = linker.rules.get(key)
                if rule is not None:
                    sources |= rule.codes.get(entry.code, set())
                    trusted += [c for c, found in rule.codes.items()
                                if c != entry.code and not all(s.startswith("codiesp") for s in found)]
        if not sources or not all(s.startswith("codiesp") for s in sources):
            continue
        if entry.code[:-1].rstrip(".") in trusted:
            continue  # the index's code for the words is the code's parent ("Hemiparesis - see Hemiplegia" G81.9-)
        if work.said(entry) & work.words_of(entry.code):
            continue
        instead = next((c for c in trusted if c[:3] == entry.code[:3] and work.tabular.is_billable(c)), "")
        if any(_ECG_WORDS.search(work.analysis.text, max(0, a - 12), a) for a, _ in entry.spans):
            instead = ""  # "ST depressions" on an ECG: no depression at all
        if instead and not (instead in work.entries and work.entries[instead].absorbed_by):  # F32.9 → F32.A
            work.add(instead, list(entry.suggestion.evidence), "tabular validator", f"the index gives these words "
                     f"{instead} ({work.tabular.description(instead)})", entry.suggestion.score, "index-navigator")
            work.absorb(entry.code, instead, "tabular validator", f"the index links the note's words to {instead}")
            continue
        work.demote(entry.code, "tabular validator", "no index or tabular entry links the note's words to this code")


# Sepsis and its severity are their own conditions, coded beside the local infection whose organism they share
# ("sepsis due to MSSA with MSSA pneumonia": A41.01 and J15.211).
_SYSTEMIC = ("A40", "A41", "R65.2")


# -- the index's combinations ---------------------------------------------------------------------------------------
_HYPERTENSIVE = ("I11", "I12", "I13")


def combinations(work: Worklist, navigator: IndexNavigator | None,
                 winning: dict[tuple[int, int], list[str]]) -> None:
    """Conditions the index links with "with" / "in" become their combination code (I.A.15): hypertension and CKD →
    I12.-, diabetes and CKD → E11.22. The plain code of the head condition is absorbed; the partner stays when the
    combination's notes ask for it (N18 stage, I50 type), else it is absorbed too."""
    if navigator is None:
        return
    tabular = work.tabular
    heads = [e for e in work.coded() if not e.code.startswith(("Z", "V", "W", "X", "Y")) and not e.only("historical")]
    if len(heads) < 1:
        return
    conditions = [work.condition(e) for e in heads]
    known = {c.code for c in conditions}
    # A condition the note states in words the dictionary found but the ranker left for review is still a partner
    # ("DM2 ... Assessment: polyneuropathy" → E11.42), never a head; one generic word ("renal dose") states none, and
    # a drug taken (Z79) is no "neuropathy due to drugs".
    generic = GENERIC_WORDS.get(work.analysis.language, set())
    for match in work.analysis.mentions:
        codes = winning.get((match.start, match.end), [])
        if match.assertion != "present" or not codes or codes[0] in known or codes[0] in work.misread \
                or codes[0].startswith("Z79") or work.analysis.text[match.start:match.end].strip().lower() in generic \
                or " ".join(match.key) in generic:  # "BMI": the "mass" of body mass index
            continue
        if any(_overlap([(match.start, match.end)], c.spans) for c in conditions):
            continue  # another reading of words a coded condition already stands for
        said = work.said_in(match.start, match.end)
        conditions.append(Condition(codes[0], work.words_of(codes[0]) | said, ((match.start, match.end),), said,
                                    partner_only=True))
        known.add(codes[0])
    near = {e.code: work.sentence_words(e) for e in heads}
    unrelated = work.analysis.unrelated_cues

    def together(a: Condition, b: Condition) -> bool:
        """Written in one sentence: a link the index gives is then the note's own."""
        return work.same_sentence(a.spans, b.spans)

    denied = {e.code: english(work.denied_text(e), work.analysis.language) for e in heads}
    for combo in navigator.combinations(conditions, near, tabular, together, denied):
        involved = [work.entries[c.code] for c in [combo.head, *combo.partners] if c.code in work.entries]
        if not involved or combo.head.partner_only:
            continue
        groups = partner_ranges(combo.code, tabular)
        parts = [combo.head, *combo.partners]
        if groups and not all(any(covers(ref, c.code) for ref in group for c in parts) for group in groups):
            work.record("kept apart", combo.code, "with", f"{combo.code} includes only conditions in "
                        + "; ".join(", ".join(f"{a}-{b}" if b else a for a, b in group) for group in groups))
            continue
        if groups:  # a partner outside the parts (the CAD that reached "heart involvement") stays its own code
            combo.partners = [c for c in combo.partners if c.code not in combo.loose
                              or any(covers(r, c.code) for g in groups for r in g)]
            involved = [work.entries[c.code] for c in [combo.head, *combo.partners] if c.code in work.entries]
        if any(_overlap(e.spans, unrelated) for e in involved[1:]) or (
                combo.partners and any(_overlap(work.entries[combo.head.code].spans, [u]) for u in unrelated)):
            work.record("kept apart", combo.code, "with", "the note says the conditions are unrelated")
            continue
        score = max(e.suggestion.score for e in involved)
        spans = _spans(involved) + [Span(start=s, end=e, text=work.analysis.text[s:e]) for c in combo.partners
                                    if c.code not in work.entries for s, e in c.spans]
        combo.code = _kind_of_partner(combo.code, [work.entries[c.code] for c in parts if c.code in work.entries],
                                      tabular) or combo.code
        work.add(combo.code, sorted(spans, key=lambda s: s.start), "with", combo.rationale, score, "index-navigator")
        for partner in combo.partners:  # a partner left for review that the combination's notes ask for (N18 stage)
            entry = work.entries.get(partner.code)
            if partner.partner_only and _needs(combo.code, partner.code, tabular) and \
                    tabular.is_billable(partner.code) and not work.set_aside(partner.code, "tabular validator") and \
                    not (entry is not None and entry.absorbed_by) and \
                    not any(e.code[:3] == partner.code[:3] for e in work.coded()):
                work.add(partner.code, [Span(start=a, end=b, text=work.analysis.text[a:b]) for a, b in partner.spans],
                         "use additional", f"{combo.code}'s notes ask for it: {tabular.description(partner.code)}",
                         score, "tabular-list")
        for entry in involved:
            if entry.code == combo.code:
                continue
            if entry.code == combo.head.code:
                if is_vague(entry.code, tabular) or entry.code[:3] in ("I10", "I85") or \
                        contradicted(entry.code, combo.code, work):
                    work.absorb(entry.code, combo.code, "with", "the combination code names this condition")
            elif not _needs(combo.code, entry.code, tabular) and entry.code[:3] != combo.code[:3] \
                    and not entry.code.startswith(_SYSTEMIC) and not _manifestation_of_another(entry.code, combo.code,
                                                                                            tabular):
                work.absorb(entry.code, combo.code, "with", "the combination code names this condition")
        if combo.code.startswith(_HYPERTENSIVE):  # one hypertensive disease, one code: the stage the note gives wins
            for entry in work.coded():
                if entry.code != combo.code and (entry.code[:3] == combo.code[:3] or combo.code.startswith("I13")
                                                 and entry.code.startswith(_HYPERTENSIVE)):  # I11.9 beside I13.0
                    work.absorb(entry.code, combo.code, "one condition, one code",
                                f"{combo.code} is the hypertensive disease with the partner the note names")


def _kind_of_partner(code: str, parts: list[Entry], tabular: Tabular) -> str:
    """The combination's sibling that names a part's kind ("stable angina" I20.89 with CAD: I25.118, "with other forms
    of angina pectoris"), when the index reached its unspecified code (I25.119)."""
    def title(c: str) -> set[str]:
        return set(re.findall(r"\w+", tabular.description(c).lower()))
    if not code.endswith("9") or "unspecified" not in title(code):
        return ""
    siblings = {c: title(c) for c in tabular.billable_descendants(tabular.ancestors(code)[0]) if c != code}
    for part in [p for p in parts if p.code[:3] != code[:3]]:
        words = title(part.code)
        named = [c for c, own in siblings.items() if words <= own]
        if words and len(named) == 1 and not words <= title(code):
            return named[0]
    return ""


def partner_ranges(code: str, tabular: Tabular, depth: int = 0) -> list[list[tuple[str, str]]]:
    """The conditions a combination category says it is made of, one group per part ("I11 Hypertensive heart
    disease. Includes: any condition in I50.- or I51.4-I51.7, I51.89, I51.9 due to hypertension": one group; "I13:
    any condition in I11.- with any condition in I12.-": the groups of I11 and of I12). Empty when the notes say
    nothing."""
    lines = [line for line in tabular.inherited_notes(code).includes if line.lower().startswith("any condition in")]
    groups: list[list[tuple[str, str]]] = []
    for line in lines:
        refs = references([line])
        composite = depth < 1 and refs and all(not last and first[:3] == first for first, last in refs) and all(
            partner_ranges(first, tabular, depth + 1) for first, _ in refs)
        if composite:
            for first, _ in refs:
                groups.extend(partner_ranges(first, tabular, depth + 1))
        elif refs:
            groups.append(refs)
    return groups


_MANIFESTATIONS: dict[str, dict[str, list[_Manifestation]]] = {}


def _manifestations(tabular: Tabular) -> dict[str, list[_Manifestation]]:
    """Category of an underlying condition → billable codes whose "code first" note names it (F02.80 for G30);
    computed once per tabular list edition."""
    edition = tabular.info.key()
    if edition not in _MANIFESTATIONS:
        _MANIFESTATIONS[edition] = _build_manifestations(tabular)
    return _MANIFESTATIONS[edition]


@dataclass(frozen=True, slots=True)
class _Manifestation:
    code: str
    manifested: frozenset[str]  # what it says of the patient, before its "in ..." / "due to ..."
    title: frozenset[str]
    within: bool  # "in diseases classified elsewhere", "Anemia in chronic kidney disease"
    due_to: bool  # "Delirium due to known physiological condition": needs the note to state the cause


def _build_manifestations(tabular: Tabular) -> dict[str, list[_Manifestation]]:
    found: dict[str, list[_Manifestation]] = {}
    for code, item in tabular.codes.items():
        if not item.billable:
            continue
        notes = tabular.inherited_notes(code)
        if not notes.code_first:
            continue
        title = tabular.description(code).lower()
        manifested = frozenset(term_key(re.split(r"\bin\b|\bdue to\b|,", title)[0], "en")) - _CORE_FILLERS
        if not manifested - _GENERIC_STEMS:
            continue
        option = _Manifestation(code, manifested, frozenset(re.findall(r"[a-z]+", title)) - _TITLE_FILLERS,
                                " in " in f" {title} " or "classified elsewhere" in title, "due to" in title)
        if not option.within and not option.due_to:
            continue
        for first, last in references(notes.code_first):
            categories = {first[:3]} if not last else _category_range(first[:3], last[:3])
            for category in categories:
                found.setdefault(category, []).append(option)
    return found


def _category_range(first: str, last: str) -> set[str]:
    if first[0] != last[0] or not (first[1:].isdigit() and last[1:].isdigit()):
        return {first, last}
    return {f"{first[0]}{n:02d}" for n in range(int(first[1:]), int(last[1:]) + 1)}


def manifestations(work: Worklist) -> None:
    """A condition coded on its own that the note ties to an underlying disease whose code the tabular list asks to
    code first becomes its "in diseases classified elsewhere" code: dementia with Alzheimer's disease → G30.9 and
    F02.80, not F03.90."""
    tabular = work.tabular
    table = _manifestations(tabular)
    coded = [e for e in work.coded() if not e.only("historical")]
    for underlying in coded:
        options = table.get(underlying.code[:3], [])
        if not options:
            continue
        for entry in coded:
            if entry.code == underlying.code or not entry.coded or any(entry.code == o.code for o in options):
                continue
            if entry.suggestion.step == STEP or not work.same_sentence(entry.spans, underlying.spans):
                continue  # the note links the two ("Alzheimer's dementia", "dementia due to Parkinson's")
            entry_words = work.words_of(entry.code)
            causal = any(_CAUSAL.search(work.analysis.text, *work.analysis.sentences.sentence_bounds(s, e))
                         for s, e in entry.spans)
            scored = [(len(entry_words & o.title), o.code) for o in options
                      if (o.within or causal and o.due_to) and o.manifested <= entry_words]
            if not scored:
                continue
            best = max(scored, key=lambda item: (item[0], -len(tabular.description(item[1]))))[1]
            work.add(best, _spans([entry]), "code first",
                     f"{tabular.description(best)}: code first {underlying.code}", entry.suggestion.score,
                     "tabular-list")
            work.absorb(entry.code, best, "code first", f"{underlying.code} is the underlying condition")


_CAUSAL = re.compile(r"\b(?:due to|secondary to|caused by|from|because of|debid[oa] a|secundari[oa] a|por)\b",
                     re.IGNORECASE)
_GENERIC_STEMS = frozenset(term_key("disorder disorders disease diseases other respiratory kidney ureter "
                                    "organ organs system", "en"))


# -- instructional notes --------------------------------------------------------------------------------------------
def use_additional(work: Worklist) -> None:
    """A second code the notes of a coded code ask for ("use additional code", "code also"; a manifestation's "code
    first"), when the note supports it: the best candidate the notes name (N18 stage after I12.9, the organism B95-B97
    after a cellulitis, the dementia F03.9- a delirium "due to known physiological condition" F05 is in)."""
    tabular = work.tabular
    # A code a rule decided against (Z16.11 beside B95.62, which says methicillin resistant) stays decided.
    decided = {row["code"] for row in work.log if row["action"] == "not coded" and (
        row["rule"] != "tabular validator" or "generic word" in row["why"])}  # "infection" alone is no infection
    for entry in list(work.coded()):
        notes = tabular.inherited_notes(entry.code)
        lines = [*notes.use_additional, *notes.code_also]
        title = tabular.description(entry.code)
        manifestation = "classified elsewhere" in title or "due to known physiological condition" in title
        refs = references([*lines, *(notes.code_first if manifestation else [])])
        if _asks_for_the_infection(lines):
            _the_infection(entry, work, decided)  # J44.0: "code also to identify the infection"
        for ref in refs:
            options = [c for c in work.candidates() if covers(ref, c.code) and work.codable(c) and c.code not in decided
                       and not c.only("historical") and tabular.is_billable(c.code)]
            if not options or any(covers(ref, c.code) for c in work.coded()):
                continue
            best = max(options, key=lambda c: c.suggestion.score)
            work.promote(best.code, "use additional", f"{entry.code}'s notes ask for {ref[0]}{'-' + ref[1] if ref[1] else ''}")


def _the_infection(entry: Entry, work: Worklist, decided: set[str]) -> None:
    """The infection the coded term itself names ("COPD w/ acute bronchitis" → J44.0 and J20.9), when not yet coded."""
    tabular = work.tabular
    def is_infection(code: str) -> bool:  # chapter 1, or an acute respiratory infection (J00-J22)
        return code[0] in "AB" or "J00" <= code[:3] <= "J22"

    infections = [c for c in work.candidates() if is_infection(c.code) and c.code not in decided and tabular.is_billable(c.code) and not c.only("historical")
                  and not c.absorbed_by and _overlap(c.spans, entry.spans) and work.codable(c)]
    if infections and not any(is_infection(o.code) for o in work.coded()):
        best = max(infections, key=lambda c: (len(c.code), c.suggestion.score))
        work.promote(best.code, "use additional", f"{entry.code}'s notes ask for the infection")


def excludes1(work: Worklist, warnings: list[str], winning: dict[tuple[int, int], list[str]]) -> None:
    """Two coded codes an Excludes1 note keeps apart: the one the note's own longest term names ("pneumococcal
    pneumonia" J13), the more severe degree the note documents (dependence over abuse), a diagnosis over a symptom
    (orthostatic hypotension I95.1 over syncope R55), the injury the other
    injury's note sends the condition to (an open wound's "open fracture (S72.-)"), else the one the rules derived,
    else the more specific, else the more probable stays; the other is left for review with a warning."""
    tabular = work.tabular
    coded = work.coded()
    named = {codes[0]: True for codes in winning.values() if codes}
    combined = {row["code"] for row in work.log if row["action"] == "added" and row["rule"] == "with"}
    for entry in coded:
        refs = references(tabular.inherited_notes(entry.code).excludes1)
        for other in coded:
            if other is entry or not entry.coded or not other.coded:
                continue
            if not any(covers(ref, other.code) for ref in refs):
                continue
            degrees = severities(entry.code, other.code, tabular)
            keep, drop = sorted((entry, other), key=lambda e: (not e.only("historical"), degrees.get(e.code, 0),
                                                               e.code[0] != "R",  # a diagnosis over its symptom
                                                               e is other or entry.code[0] != "S" or excluded_by(entry.code, other.code, tabular),
                                                               e.code in combined,  # N13.2 over its N20.1
                                                               _assessed(e, work),
                                                               kind_of(e.code, (other if e is entry else entry).code,
                                                                       work),
                                                               named.get(e.code, False),
                                                               e.suggestion.step == STEP,
                                                               not is_vague(e.code, tabular), e.suggestion.score),
                                reverse=True)
            work.demote(drop.code, "Excludes1", f"{keep.code} and {drop.code} are not reported together")
            warnings.append(f"Excludes1: {keep.code} and {drop.code} cannot be reported together; {drop.code} was "
                            "left for review")


_SIDE_WORDS = {"right", "left", "bilateral"}


def _assessed(entry: Entry, work: Worklist) -> bool:
    """The provider's assessment names the code (it wins an Excludes1 pair over a mention elsewhere)."""
    return any(work.analysis.section_at(s).kind == "assessment" for s, _ in entry.spans)


def encounter(work: Worklist) -> None:
    """Injury and external-cause codes carry the encounter in their 7th character: A unless the note says the visit
    is a follow-up (D), a fracture's healing (G, K, P) or a sequela (S) (:func:`core.rules.injury.visit_encounter`)."""
    wanted, drug = visit_encounter(work.analysis.text), drug_encounter(work.analysis.text)  # a drug's T code: its own
    if wanted == "A":
        return
    for entry in list(work.coded()):
        flat = entry.code.replace(".", "")
        if len(flat) != 7 or flat[6] not in "ADS" or flat[6] == (drug if "T36" <= flat[:3] <= "T50" else wanted):
            continue
        changed = next((entry.code[:-1] + w for w in (wanted, "D") if work.tabular.is_billable(entry.code[:-1] + w)), "")
        if changed and changed != entry.code:
            work.add(changed, entry.suggestion.evidence, "7th character", f"the note describes a {wanted} encounter",
                     entry.suggestion.score, entry.suggestion.source)
            work.absorb(entry.code, changed, "7th character", "encounter")
            if changed[0] == "S":  # "6 wks s/p ORIF of the fx": the injury still treated, not a history (Z87.81)
                for past in work.coded():
                    if past.code.startswith(("Z87.31", "Z87.81")) and any(
                            a < d and c < b for a, b in past.spans for c, d in entry.spans):
                        work.absorb(past.code, changed, "7th character", "the injury is still being treated")
