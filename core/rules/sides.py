"""Laterality (I.B.13): a code for an unspecified side gives way to the sided code of the side the note names."""

from __future__ import annotations

import re

from core.kb.tabular import Tabular
from core.nlp.laterality import note_sides
from core.nlp.textnorm import term_key
from core.rules.worklist import Worklist

_SIDE_WORDS = {"right", "left", "bilateral"}
_DOMINANT_HAND = {"right": re.compile(r"\b(?:right|rt?)[- ]hand(?:ed|[- ]dominant)\b|\bdominant hand:? (?:is )?(?:right|r)\b|"
                                     r"\bdiestr[oa]", re.IGNORECASE),
                  "left": re.compile(r"\b(?:left|lt?)[- ]hand(?:ed|[- ]dominant)\b|\bdominant hand:? (?:is )?(?:left|l)\b|"
                                    r"\bzurd[oa]", re.IGNORECASE)}
_DOMINANCE_TITLE = re.compile(r"\b(right|left) (non-?dominant|dominant) side\b")


def laterality(work: Worklist) -> None:
    """A code for an unspecified side when the note names the side (I.B.13): "cellulitis of the left lower leg" is
    L03.116, not L03.90 or L03.119; "right femoral neck fracture" is S72.001A. The 7th character is kept."""
    tabular = work.tabular
    for entry in list(work.coded()):
        title = tabular.description(entry.code).lower()
        if "unspecified" not in title and "bilateral" not in title and not title.startswith("cellulitis, unspecified"):
            continue
        side = next((s for s in (work.analysis.side_of(a, b) for a, b in entry.spans) if s), "") or \
            _only_side(work, entry.code)
        if not side or side in title.replace(",", " ").split():
            continue
        sided = _sided(entry.code, side, tabular, work.sentence_words(entry))
        if sided and sided != entry.code:
            work.add(sided, entry.suggestion.evidence, "laterality", f"the note names the {side} side",
                     entry.suggestion.score, entry.suggestion.source)
            work.absorb(entry.code, sided, "laterality", f"the note names the {side} side")


def _only_side(work: Worklist, code: str) -> str:
    """The one side an injury or joint note names, though not in the clause of the code ("FOOSH R. Dinner-fork
    deformity R wrist. XR: distal radius fx")."""
    sides = note_sides(work.analysis.text, work.analysis.language) if code[0] in "MS" else set()
    return next(iter(sides)) if len(sides) == 1 and sides <= {"right", "left"} else ""


def _sided(code: str, side: str, tabular: Tabular, sentence: frozenset[str] = frozenset()) -> str:
    """The billable code of ``code``'s category that names ``side``, keeps its 7th character, and adds no other word
    than the side and words of the sentence ("Cellulitis, unspecified" + "left lower leg" → "Cellulitis of left lower
    limb"); "" when none does."""
    flat = code.replace(".", "")
    seventh = flat[6] if len(flat) == 7 else ""
    code_title = tabular.description(code).lower()
    reference = set(term_key(code_title, "en")) - {"unspecifi", "unspecified"}
    best: tuple[int, str] | None = None
    for option in tabular.billable_descendants(code[:3]):
        if option == code or (seventh and not option.endswith(seventh)):
            continue
        option_title = tabular.description(option).lower()
        named = [w for w in re.findall(r"[a-z]+", option_title) if w in _SIDE_WORDS]
        if not named or named[0] != side:
            continue
        stems = set(term_key(option_title, "en"))
        extra = stems - reference - {term_key(w, "en")[0] for w in _SIDE_WORDS} - sentence
        if "dominant" in option_title and option_title.count("unspecified") < code_title.count("unspecified"):
            extra -= {"unspecifi", "unspecified"}  # "Hemiplegia, unspecified affecting [unspecified →] right side"
        if extra - _SIDE_FILLERS:
            continue  # it says more than the note: another site, another type
        rank = len(reference & stems)
        if best is None or rank > best[0]:
            best = (rank, option)
    return best[1] if best else ""


# Words a sided code may add: the encounter, and the dominance that dominance() settles ("Hemiplegia, unspecified
# affecting right dominant side").
_SIDE_FILLERS = {"of", "initial", "encount", "encounter", "subsequent", "sequela", "dominant", "nondominant",
                 "non-dominant"}


def stated_hand(text: str) -> str:
    """The dominant hand the note states ("R-hand dominant", "zurdo"); "" when it states none."""
    return next((h for h, pattern in _DOMINANT_HAND.items() if pattern.search(text)), "")


def dominance(work: Worklist) -> None:
    """Hemiplegia and monoplegia codes name the side as dominant or not (I.C.6.a): the hand the note gives, else the
    right side is dominant and the left non-dominant ("L hemiparesis; R-hand dominant" is G81.94, not G81.92)."""
    tabular = work.tabular
    stated = stated_hand(work.analysis.text)
    hand = stated or "right"
    for entry in list(work.coded()):
        found = _DOMINANCE_TITLE.search(tabular.description(entry.code).lower())
        if not found:
            continue
        side = found.group(1)
        wanted = "dominant" if side == hand else "nondominant"
        if found.group(2).replace("-", "") == wanted:
            continue
        for sibling in tabular.billable_descendants(entry.code[:-1]):
            other = _DOMINANCE_TITLE.search(tabular.description(sibling).lower())
            if other and other.group(1) == side and other.group(2).replace("-", "") == wanted:
                why = f"the {side} side is {wanted.replace('non', 'non-')} ({'as the note says' if stated else 'by default'})"
                work.add(sibling, list(entry.suggestion.evidence), "laterality", why, entry.suggestion.score,
                         entry.suggestion.source)
                work.absorb(entry.code, sibling, "laterality", why)
                break
