"""Injury sites (I.B.1, I.B.13, I.C.19): the code of the site the note names, found the way a coder finds it.

The coder looks the injury up in the Index to Diseases and Injuries, follows the site subterms the note writes
(Fracture, traumatic > femur, femoral > neck (see Fracture, femur, upper end, neck) → S72.00-), then completes the
code in the tabular list with the side and the encounter (S72.001A). A dictionary term can land on a sibling
("fracture of the right femoral" → S72.8X1A "Other fracture of right femur"; "radius fracture" → a code learned from
other notes): the index path replaces it. The words that name an injury and their main terms are the curated
``[injury]`` list of ``data/conventions/external_causes.toml``; the walk is the one the external causes use.
"""

from __future__ import annotations

import re

from core.kb.index import AlphabeticIndex
from core.kb.tabular import Tabular, normalize_code
from core.rules.external_cause import _NEGATED, CauseIndex, _key, cues, english_words, is_injury
from core.rules.worklist import Entry, Worklist
from core.schema import Span

_SIDES = ("right", "left")
# How far around an injury word its site is written ("distal right radius fracture", "fracture of the neck of the
# right femur"): characters before and after, within the sentence and short of the next injury word.
BEFORE, AFTER = 50, 60
_INDEXES: dict[int, CauseIndex] = {}


def injury_index(index: AlphabeticIndex) -> CauseIndex:
    if id(index) not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[id(index)] = CauseIndex(index, source="cms-index", prefixes="ST")
    return _INDEXES[id(index)]


def _sides(code: str, tabular: Tabular) -> set[str]:
    return set(re.findall(r"[a-z]+", tabular.description(code).lower())) & set(_SIDES)


def complete_site(code: str, side: str, seventh: str, tabular: Tabular) -> str:
    """The billable code below an index code ("S72.00-") that names ``side`` (else names none), with the 7th
    character ``seventh``; the plainest one ("Unspecified ..." over a displaced / nondisplaced split)."""
    base = normalize_code(code.rstrip("-"))
    options = tabular.billable_descendants(base)
    with_seventh = [o for o in options if len(o.replace(".", "")) == 7 and o.endswith(seventh)]
    options = with_seventh or [o for o in options if len(o.replace(".", "")) < 7 or o.endswith("A")]

    def sides(option: str) -> set[str]:
        return _sides(option, tabular)

    sided = [o for o in options if side and sides(o) == {side}]
    pool = sided or [o for o in options if not sides(o)]
    if not pool:
        return ""
    return min(pool, key=lambda o: ("nondisplaced" in tabular.description(o).lower(),
                                    len(tabular.description(o).split()), o))


def injury_sites(work: Worklist, index: AlphabeticIndex | None) -> None:
    """Each injury word of the note ("fracture", "laceration", "bite", "sprain") walked in the index through the
    site words around it; the code of that site replaces the dictionary's code of another site or sibling, or is
    added when the dictionary found no code for these words."""
    if index is None:
        return
    table = cues()
    walker = injury_index(index)
    analysis = work.analysis
    text = analysis.text
    tabular = work.tabular
    found = english_words(text, analysis.language, affirmed=True)
    every = english_words(text, analysis.language)
    positions = [(word, offset) for word, offset in every if word in table.injury]
    for word, offset in positions:
        main = walker.mains.get(_key(table.injury[word]))
        if main is None or _NEGATED.search(text[max(0, offset - 40):offset]):
            continue
        start, end = analysis.sentences.sentence_bounds(offset, offset + 1)
        others = [o for _, o in positions if start <= o < end and o != offset]
        low = max([o for o in others if o < offset] + [start, offset - BEFORE])
        high = min([o for o in others if o > offset] + [end, offset + AFTER])
        window = [(w, o) for w, o in found if low <= o < high]
        words = frozenset(w for w, _ in window)
        raw = frozenset(re.findall(r"[a-z]+", text[low:high].lower()))
        if words & table.elsewhere:
            continue  # "pathological fracture": another main term, not an injury
        negated = frozenset(w for w, o in every if low <= o < high) - words
        hit = walker.walk(main, words, word, raw, negated)
        if hit is None or len(hit.path) < 2:
            continue  # no site: the dictionary's reading stands
        named = [s for s in _SIDES if s in words]
        side = named[0] if len(named) == 1 else ""
        seventh = "B" if "open" in words and main.path[0].startswith("Fracture") else "A"
        code = complete_site(hit.code, side, seventh, tabular)
        if not code:
            continue
        base = normalize_code(hit.code.rstrip("-")).replace(".", "")
        here = [e for e in work.coded() if e.code != code and is_injury(e.code)
                and any(low <= a < high for a, _ in e.spans)]
        if any(e.code.replace(".", "").startswith(base) and (not side or _sides(e.code, tabular) == {side})
               for e in here):
            continue  # the dictionary's code is already this site (and side), or a more specific code of it
        kinds = [e for e in here if e.code[:3] == code[:3] and not _residual(e.code, tabular)
                 and _site_words(code, tabular) <= _site_words(e.code, tabular)]
        if kinds:  # the dictionary's code says more than the index path ("shaft" of the femur): it stands, sided
            _side_of_entry(work, kinds[0], side, seventh)
            continue
        same = [e for e in here if e.code[:3] == code[:3] or e.code.startswith("T14")
                or any(a <= offset < b for a, b in e.spans)]
        if not same and analysis.assertion_of(offset, offset + 1)[0] != "present":
            continue
        evidence_text = text[low:high].strip(" ,;:.\n")
        first = text.index(evidence_text, low) if evidence_text else low
        score = max([e.suggestion.score for e in same], default=0.5)
        why = hit.rationale + (f", {side}" if side else "")
        work.add(code, [Span(start=first, end=first + len(evidence_text), text=evidence_text)], "injury site", why,
                 score, "index-navigator")
        for entry in same:
            work.absorb(entry.code, code, "injury site", f"the index gives {code} for the site the note names")


_SITE_FILLERS = frozenset("unspecified other of the and a right left side part initial encounter for closed open "
                          "fracture subsequent sequela routine healing with".split())


def _stem_code(code: str, tabular: Tabular) -> str:
    """The code without its 7th character (S72.309A → S72.309, S01.01XA → S01.01)."""
    item = tabular.get(code)
    return item.parent if item and item.parent and len(code.replace(".", "")) == 7 else code


def _residual(code: str, tabular: Tabular) -> bool:
    """An "Other ..." code: the category's residual, no particular site or kind ("Other fracture of head and neck
    of right femur" says no more than the neck)."""
    return tabular.description(_stem_code(code, tabular)).lower().startswith("other ")


def _site_words(code: str, tabular: Tabular) -> frozenset[str]:
    """What a code's title says of the site and kind, without side, encounter and "unspecified"."""
    return frozenset(re.findall(r"[a-z]+", tabular.description(_stem_code(code, tabular)).lower())) - _SITE_FILLERS


def _side_of_entry(work: Worklist, entry: Entry, side: str, seventh: str) -> None:
    """The dictionary's code with the side the note names, when it names none (S72.309A → S72.302A)."""
    tabular = work.tabular
    if not side or _sides(entry.code, tabular) == {side}:
        return
    flat = entry.code.replace(".", "")
    parent = tabular.get(_stem_code(entry.code, tabular))
    if parent is None or not parent.parent:
        return
    sided = complete_site(parent.parent, side, flat[6] if len(flat) == 7 else seventh, tabular)
    if sided and sided != entry.code and _site_words(entry.code, tabular) <= _site_words(sided, tabular):
        work.add(sided, entry.suggestion.evidence, "injury site", f"the note names the {side} side",
                 entry.suggestion.score, entry.suggestion.source)
        work.absorb(entry.code, sided, "injury site", f"the note names the {side} side")
