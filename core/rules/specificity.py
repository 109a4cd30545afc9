"""One condition, one code, where the titles of two codes of a condition say it: an unspecified code beside a
specific code of the same category read from the same words, a code whose title says the opposite of what a more
specific code of its category says ("without hemorrhage or perforation", "chronic or unspecified" beside "acute ...
with hemorrhage"), and an organism code (B95-B97) or a strain beside a code whose title already names the organism."""

from __future__ import annotations

import re

from core.candidates.navigator import is_vague
from core.rules.conventions import _overlap
from core.rules.worklist import Worklist

_ORGANISM_CODES = ("B95", "B96", "B97")
_AS_CAUSE = re.compile(r"\s*(?:infection\s+)?as the cause of diseases classified elsewhere.*$")
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


def one_condition(work: Worklist) -> None:
    """Apply the three: opposite titles, the unspecified code at the same words, the organism already named."""
    coded = work.coded()
    for entry in coded:
        if not entry.coded:
            continue
        for other in coded:
            if other is entry or not other.coded or other.code[:3] != entry.code[:3]:
                continue
            if opposite(entry.code, other.code, work) and not opposite(other.code, entry.code, work):
                work.absorb(entry.code, other.code, "one condition, one code",
                            f"{other.code} says what the note says of the condition")
                break
            if is_vague(entry.code, work.tabular) and not is_vague(other.code, work.tabular) \
                    and _overlap(entry.spans, other.spans) and not _neoplasm(entry.code):  # sites: neoplasm.py
                work.absorb(entry.code, other.code, "one condition, one code",
                            f"{other.code} is the specific code of the same words")
                break
    _organism_named(work)


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
        organism = re.sub(r"^(?:unspecified|other) ", "", _AS_CAUSE.sub("", title).strip())
        organism = organism[:-3] if len(organism) > 8 else organism  # "streptococc(us)" in "streptococcal"
        named = [o for o in coded if o is not entry and not o.code.startswith(_ORGANISM_CODES) and organism
                 and organism in titles[o.code]]
        if named:
            work.absorb(entry.code, named[0].code, "one condition, one code",
                        f"{named[0].code}'s title already names the organism")
