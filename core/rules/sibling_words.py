"""The kind the note names: an unspecified code gives way to the sibling whose own words the clause says
("ADHD, combined presentation" F90.9 → F90.2 "combined type"; "persistent proteinuria" R80.9 → R80.1); where the
clause names several, the one whose words hold all the others' ("left lower quadrant" R10.32 over "lower" R10.30)."""

from __future__ import annotations

from core.candidates.navigator import is_vague
from core.kb.tabular import Tabular
from core.nlp.textnorm import term_key
from core.rules.worklist import Entry, Worklist, title_words

# Words a sibling's title may add that name no kind of the condition.
_NO_KIND = frozenset(term_key("other specified unspecified type nec not elsewhere classified side ear eye with "
                              "without due to and or of in the initial subsequent sequela encounter", "en"))


def named_siblings(work: Worklist) -> None:
    """Each coded unspecified code whose clause names exactly one sibling's kind gives way to that sibling."""
    if work.analysis.language != "en":
        return  # titles are English; the Spanish notes name kinds through the dictionary
    tabular = work.tabular
    for entry in list(work.coded()):
        if not entry.coded or not entry.spans or not tabular.is_billable(entry.code) or \
                not is_vague(entry.code, tabular):
            continue
        said = work.sentence_words(entry) | {s for s in (work.analysis.side_of(a, b) for a, b in entry.spans) if s}
        named = {code: kind for code, kind in _kinds(entry.code, tabular) if kind <= said}
        widest = [code for code, kind in named.items() if all(other <= kind for other in named.values())]
        if len(widest) != 1 or widest[0] in work.misread:
            continue  # none, or two kinds the clause names alike
        other = work.entries.get(widest[0])
        if other is not None and (other.absorbed_by or not work.codable(other)):
            continue
        _replace(work, entry, widest[0])


def _kinds(code: str, tabular: Tabular) -> list[tuple[str, frozenset[str]]]:
    """Billable siblings of ``code`` with the words their titles add to its own, a side included (none for a
    residual or combination sibling)."""
    parents = tabular.ancestors(code)
    if not parents:
        return []
    own = title_words(tabular.description(code))
    kinds: list[tuple[str, frozenset[str]]] = []
    for sibling in tabular.billable_descendants(parents[0]):
        title = tabular.description(sibling).lower()
        if sibling == code or any(w in title for w in ("other", " with", "due to")):
            continue
        kind = title_words(title) - own - _NO_KIND
        if kind:
            kinds.append((sibling, kind))
    return kinds


def _replace(work: Worklist, entry: Entry, sibling: str) -> None:
    description = work.tabular.description(sibling)
    work.add(sibling, list(entry.suggestion.evidence), "most specific code",
             f"the note names the kind: {description}", entry.suggestion.score, entry.suggestion.source)
    work.absorb(entry.code, sibling, "one condition, one code", f"{sibling} is the kind the note names")
