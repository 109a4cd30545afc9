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
from functools import lru_cache

from core.kb.index import AlphabeticIndex, IndexTerm
from core.kb.tabular import Tabular, normalize_code
from core.rules.external_cause import _NEGATED, CauseIndex, Cues, _key, cues, english_words, is_injury
from core.rules.worklist import Entry, Worklist
from core.schema import Span

_SIDES = ("right", "left")
# How far around an injury word its site is written ("distal right radius fracture", "fracture of the neck of the
# right femur"): characters before and after, within the sentence and short of the next injury word.
BEFORE, AFTER = 50, 60
_INDEXES: dict[int, CauseIndex] = {}


# The encounter an injury code is for (7th character, I.C.19.a): a sequela (S), care after the active treatment (D),
# else the active treatment (A). A follow-up the plan asks for ("ortho f/u 1 wk", "burn clinic f/u") is a future visit,
# not this one: a follow-up word describes this visit only where the note opens with it ("Ortho clinic f/u, 6 wks
# after ...", "Consulta: revisión a las 6 semanas de ..."), or where the patient is seen, comes or returns for it.
_SEQUELA = re.compile(r"\b(?:sequela|sequelae|late effects?|(?:a |the )?residual (?:of|from)|secuelas?|residual "
                      r"(?:stiffness|weakness|deformity|pain)|rigidez residual|(?:due to|from) (?:an? |the |his |her )?"
                      r"old (?:\w+ ){0,2}(?:injury|fracture|fx)|(?:due to|from|secondary to) (?:an? |the |her |his )?(?:old|prior|previous) "
                      r"burn|(?:secundari[oa] a|por|tras) (?:una |la |su )?quemadura (?:antigua|previa)|"
                      r"quemadura (?:antigua|de hace \d+ (?:años|meses)))\b", re.IGNORECASE)
_AFTER_CARE = re.compile(r"\b(?:subsequent encounter|routine healing|delayed healing|healing|consolidando|"
                         r"consolidaci[oó]n (?:adecuada|correcta|normal)|(?:SNF|IRF|rehab|rehabilitation) admission|"
                         r"(?:admitted|transferred) (?:\w+ ){0,2}(?:for|to) (?:inpatient |acute )?(?:rehab|"
                         r"rehabilitation|SNF|IRF|skilled nursing))\b", re.IGNORECASE)
_FOLLOW_UP = re.compile(r"\b(?:follow[- ]?up|f/u|seguimiento|revisi[oó]n|control evolutivo|cast check|"
                        r"suture removal)\b", re.IGNORECASE)
_SEEN_FOR = re.compile(r"\b(?:seen|here|presents?|presenting|comes?|returns?|returned|visit|acude|viene|vuelve)\s+"
                       r"(?:\w+\s+){0,2}$", re.IGNORECASE)
# An emergency visit is the active treatment whatever follow-up it plans.
_EMERGENCY = re.compile(r"\s*(?:\w+\s+){0,2}(?:(?-i:ED|ER)|emergency (?:department|room)|urgent care|urgencias)\b",
                        re.IGNORECASE)
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s|\n")
# A fracture's healing named for this visit: nonunion (K), malunion (P), delayed healing (G), checked in that order
# ("delayed healing, not yet a nonunion" is G: a denied word does not count).
_NOT = r"(?<!not yet a )(?<!not a )(?<!no )(?<!without )(?<!sin )(?<!risk of )(?<!riesgo de )(?<!prevent )"
_RISK = r"(?![ -]+risk)"  # "counseled re nonunion risk" names a risk, not this visit's healing
_HEALING = (("K", re.compile(_NOT + r"\b(?:non-?union|pseudoarthrosis|pseudoartrosis|no uni[oó]n)\b" + _RISK,
                             re.IGNORECASE)),
            ("P", re.compile(_NOT + r"\b(?:mal-?union|mal-?united|consolidaci[oó]n viciosa)\b" + _RISK, re.IGNORECASE)),
            ("G", re.compile(_NOT + r"\b(?:delayed (?:healing|union)|retraso de (?:la )?consolidaci[oó]n|"
                             r"consolidaci[oó]n retardada)\b", re.IGNORECASE)))


@lru_cache(maxsize=16)  # the encounter, adverse-effect and injury rules ask it of the same note
def visit_encounter(text: str) -> str:
    """The 7th character this visit asks for: "S" (sequela), "D" (the follow-up or healing of a treated injury) or
    "A"; for a fracture's nonunion, malunion or delayed healing "K", "P" or "G" (a code without them takes "D"). A
    planned follow-up ("f/u ortho", "revisión en 1 semana") leaves the visit's own encounter."""
    if _SEQUELA.search(text):
        return "S"
    healing = next((letter for letter, words in _HEALING if words.search(text)), "")
    if healing:
        return healing
    if _EMERGENCY.match(text):
        return "A"
    if _AFTER_CARE.search(text):
        return "D"
    opening = _FIRST_SENTENCE.split(text.strip(), maxsplit=1)[0]
    for cue in _FOLLOW_UP.finditer(text):
        if cue.start() < len(opening) + (len(text) - len(text.lstrip())) or _SEEN_FOR.search(text[:cue.start()]):
            return "D"
    return "A"


def with_seventh(code: str, seventh: str, tabular: Tabular) -> str:
    """``code`` ("T46.4X5", "T78.3") completed with X placeholders and the 7th character, if that makes a billable
    code; else ""."""
    flat = code.replace(".", "").rstrip("-")
    full = f"{flat[:3]}.{flat[3:]}" + "X" * (6 - len(flat)) + seventh
    return full if tabular.is_billable(full) else ""


def injury_index(index: AlphabeticIndex) -> CauseIndex:
    if id(index) not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[id(index)] = CauseIndex(index, source="cms-index", prefixes="ST")
    return _INDEXES[id(index)]


def _sides(code: str, tabular: Tabular) -> set[str]:
    return set(re.findall(r"[a-z]+", tabular.description(code).lower())) & set(_SIDES)


def complete_site(code: str, side: str, seventh: str, tabular: Tabular, nondisplaced: bool = False) -> str:
    """The billable code below an index code ("S72.00-") that names ``side`` (else names none), with the 7th
    character ``seventh``; the plainest one ("Unspecified ..." over a displaced / nondisplaced split). A fracture
    not said to be nondisplaced is coded displaced (I.C.19.c.1); ``nondisplaced``: the note says it is."""
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
    return min(pool, key=lambda o: (_nondisplaced(o, tabular) != nondisplaced,
                                    len(tabular.description(o).split()), o))


# "burning pain", "burning both feet": a sensation, not a burn
_SENSATION = re.compile(r"burning\b(?!\s+(?:by|from|with|of the|injur))|cut\s+(?:down|back|off|out|up|short|"
                        r"in|on|back on|down on|the)\b", re.IGNORECASE)  # no injury: a sensation, a phrasal verb


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
    every = english_words(text, analysis.language)
    positions = [(word, offset) for word, offset in every if word in table.injury]
    if not positions:  # no injury word: the affirmed reading is not needed
        burn_extent(work)
        return
    found = english_words(text, analysis.language, affirmed=True)
    for word, offset in positions:
        main = walker.mains.get(_key(table.injury[word]))
        if main is None or _NEGATED.search(text[max(0, offset - 40):offset]) or _SENSATION.match(text, offset):
            continue
        start, end = analysis.sentences.sentence_bounds(offset, offset + 1)
        others = [o for _, o in positions if start <= o < end and o != offset]
        low = max([o for o in others if o < offset] + [start, offset - BEFORE])
        high = min([o for o in others if o > offset] + [end, offset + AFTER])
        for part_low, part_high, shared in _parts(main, text, low, high, found):
            _code_part(work, walker, main, word, offset, part_low, part_high, shared, found, every, table)
    burn_degree_elsewhere(work)
    burn_extent(work)
    open_bites(work)


# Burns of several sites in one statement ("2nd degree burns R forearm and dorsum of R hand", "de 3er grado en muslo
# izq y de 1er grado en pierna izq"): each site its own code, with its own degree, else the statement's.
_SITE_BREAK = re.compile(r"\band\b|\by\b|[,;+]")
_DEGREES = frozenset({"first", "second", "third", "degre", "partial", "full", "thickness"})


def _parts(main: IndexTerm, text: str, low: int, high: int,
           found: list[tuple[str, int]]) -> list[tuple[int, int, frozenset[str]]]:
    if not main.path[0].startswith("Burn"):
        return [(low, high, frozenset())]
    cuts = [low, *(m.start() for m in _SITE_BREAK.finditer(text, low, high)), high]
    parts = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    shared = frozenset(w for w, o in found if low <= o < high and w in _DEGREES)
    return [(a, b, shared) for a, b in parts] if len(parts) > 1 else [(low, high, frozenset())]


def _code_part(work: Worklist, walker: CauseIndex, main: IndexTerm, word: str, offset: int, low: int, high: int,
               shared: frozenset[str], found: list[tuple[str, int]], every: list[tuple[str, int]], table: Cues) -> None:
    """The injury at ``word`` coded from the site words between ``low`` and ``high``."""
    analysis, text, tabular = work.analysis, work.analysis.text, work.tabular
    window = [(w, o) for w, o in found if low <= o < high]
    words = frozenset(w for w, _ in window)
    if shared and not words & _DEGREES:
        words |= shared
    raw = frozenset(re.findall(r"[a-z]+", text[low:high].lower()))
    if words & table.elsewhere:
        return  # "pathological fracture": another main term, not an injury
    negated = frozenset(w for w, o in every if low <= o < high) - words
    hit = walker.walk(main, words, word, raw, negated)
    if hit is None or len(hit.path) < 2:
        return  # no site: the dictionary's reading stands
    named = [s for s in _SIDES if s in words]
    side = named[0] if len(named) == 1 else ""
    if not named:  # "R wrist", "fracture, L ankle": the side the note writes by the injury word
        near = analysis.side_of(offset, offset + len(word))
        side = near if near in _SIDES else ""
    seventh = _open_fracture(text, low, high, words) if main.path[0].startswith("Fracture") else "A"
    nondisplaced = bool(_NONDISPLACED.search(text[low:high]))
    code = complete_site(hit.code, side, seventh, tabular, nondisplaced)
    if not code:
        return
    base = normalize_code(hit.code.rstrip("-")).replace(".", "")
    here = [e for e in work.coded() if e.code != code and is_injury(e.code)
            and any(low <= a < high for a, _ in e.spans)]
    if any(e.code.replace(".", "").startswith(base) and (not side or _sides(e.code, tabular) == {side})
           and _nondisplaced(e.code, tabular) == _nondisplaced(code, tabular) for e in here):
        return  # the dictionary's code is already this site (and side), or a more specific code of it
    kinds = [e for e in here if e.code[:3] == code[:3] and not _residual(e.code, tabular)
             and _site_words(code, tabular) <= _site_words(e.code, tabular)
             and _unspecified(e.code, tabular) <= _unspecified(code, tabular)]
    if kinds:  # the dictionary's code says more than the index path ("shaft" of the femur): it stands, sided
        _side_of_entry(work, kinds[0], side, seventh)
        return
    same = [e for e in here if e.code[:3] == code[:3] or e.code.startswith("T14")
            or any(a <= offset < b for a, b in e.spans)]
    assertion = analysis.assertion_of(offset, offset + 1)[0]
    if not same and assertion != "present" and not (assertion == "historical" and visit_encounter(text) != "A"):
        return  # a fracture "s/p" its repair is still the one a follow-up visit treats
    evidence_text = text[low:high].strip(" ,;:.\n")
    first = text.index(evidence_text, low) if evidence_text else low
    score = max([e.suggestion.score for e in same], default=0.5)
    why = hit.rationale + (f", {side}" if side else "")
    work.add(code, [Span(start=first, end=first + len(evidence_text), text=evidence_text)], "injury site", why,
             score, "index-navigator")
    for entry in same:
        work.absorb(entry.code, code, "injury site", f"the index gives {code} for the site the note names")


# An open fracture the note states anywhere ("bone visible in wound", "Gustilo type II open fx"): B, or C for Gustilo
# type III (I.C.19.c.1), unless the fracture's own words say closed.
_OPEN = re.compile(r"\bopen (?:fx|fracture)|\bgustilo\b|\bcompound fracture|\bbone (?:visible|exposed)|\bexposed bone|"
                   r"\bfractura abierta|\bexpuesta\b", re.IGNORECASE)
_TYPE_III = re.compile(r"\bgustilo (?:type |tipo )?(?:III|3)|\btype III[abc]?\b", re.IGNORECASE)


def _open_fracture(text: str, low: int, high: int, words: frozenset[str]) -> str:
    if not ("open" in words or _OPEN.search(text)) or re.search(r"\bclosed\b|\bcerrad[oa]\b", text[low:high], re.I):
        return "A"
    return "C" if _TYPE_III.search(text) else "B"


# A fracture the note says is not displaced ("nondisplaced", "non-displaced", "undisplaced", "no desplazada").
_NONDISPLACED = re.compile(r"\b(?:non-?|un)displaced\b|\bno desplazad", re.IGNORECASE)


def _nondisplaced(code: str, tabular: Tabular) -> bool:
    return "nondisplaced" in tabular.description(code).lower()


# The body surface a burn covers ("approx 1% TBSA", "10 % de SCT"), and the part of it burned to the third degree.
# Either order: "3% TBSA", "SCQ total 6%", "3er grado 3%".
_TBSA = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%\s*(?:of\s+(?:the\s+)?)?(?:t?bsa\b|total body surface|body surface|"
                   r"sct\b|scq\b|(?:de\s+(?:la\s+)?)?superficie corporal)|\b(?:t?bsa|sct|scq)\s*(?:total\s*)?:?\s*"
                   r"(?:of\s+|de\s+)?(\d{1,3}(?:[.,]\d+)?)\s*%", re.IGNORECASE)
_THIRD = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%\s*(?:\w+\s+){0,2}(?:(?:third|3rd)[- ]degree|full[- ]thickness|tercer grado)|"
                    r"(?:(?:third|3rd)[- ]degree|full[- ]thickness|tercer grado|3er grado|3º grado)\s*:?\s*(\d{1,3}(?:[.,]\d+)?)\s*%",
                    re.IGNORECASE)


_BURN_DEGREE = re.compile(r"\b(?:(first|1st|primer|1er)|(second|2nd|segundo|2º)|(third|3rd|tercer|3er))[- ]?(?:degree|"
                          r"grado)\b|\b(?:(superficial)|(partial)|(full))[- ]thickness\b", re.IGNORECASE)
_UNSPECIFIED_DEGREE = re.compile(r"T2[0-5]\.0")


def burn_degree_elsewhere(work: Worklist) -> None:
    """A burn coded by its site with no degree takes the one degree the note gives in another sentence ("spilled hot
    coffee on her L forearm ... = partial-thickness (2nd degree) burn" → T22.212A)."""
    text = work.analysis.text
    degrees = {("1", "2", "3", "1", "2", "3")[next(i for i, g in enumerate(m.groups()) if g)]
               for m in _BURN_DEGREE.finditer(text) if work.analysis.assertion_of(m.start(), m.end())[0] == "present"}
    if len(degrees) != 1:
        return
    degree = degrees.pop()
    for entry in list(work.coded()):
        if _UNSPECIFIED_DEGREE.match(entry.code):
            code = f"{entry.code[:4]}{degree}{entry.code[5:]}"
            if work.tabular.is_billable(code):
                work.add(code, list(entry.suggestion.evidence), "injury", f"the note gives the burn's degree: "
                         f"{work.tabular.description(code)}", entry.suggestion.score, "index-navigator")
                work.absorb(entry.code, code, "one condition, one code", f"{code} names the degree")


def burn_extent(work: Worklist) -> None:
    """T31 (I.C.19.d.6): the extent of the body surface burned, with the sited burn codes when the note gives the
    percentage (T31.0 under 10%; T31.xy: tens of the whole, tens of the third-degree part); it says more than a burn
    of unspecified region (T30.-), which it absorbs."""
    burns = [e for e in work.coded() if "T20" <= e.code[:3] <= "T25"]
    text = work.analysis.text
    total = _TBSA.search(text)
    if not burns or total is None:
        return
    whole = float((total.group(1) or total.group(2)).replace(",", "."))
    third = _THIRD.search(text)
    deep = float((third.group(1) or third.group(2)).replace(",", ".")) if third else (
        whole if all(e.code[4:5] == "3" for e in burns) else 0.0)
    tens = min(int(whole // 10), 9)
    code = "T31.0" if tens == 0 else f"T31.{tens}{min(int(deep // 10), tens)}"
    if not work.tabular.is_billable(code):
        return
    span = Span(start=total.start(), end=total.end(), text=total.group())
    score = max(e.suggestion.score for e in burns)
    work.add(code, [span], "burn extent", f"{total.group()}: {work.tabular.description(code)}", score, "rules")
    for entry in list(work.coded()):
        if entry.code.startswith("T30"):
            work.absorb(entry.code, code, "burn extent", "the sited burns and their extent say more")


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


def _unspecified(code: str, tabular: Tabular) -> int:
    """How many parts a code's title leaves unspecified, its side apart ("Sprain of unspecified ligament of right
    ankle" leaves one, "Sprain of other ligament of right ankle" none)."""
    title = tabular.description(_stem_code(code, tabular)).lower()
    return len(re.findall(r"\bunspecified\b(?! side\b)", re.sub(r"unspecified (?=\w+$)", "", title)))


def _site_words(code: str, tabular: Tabular) -> frozenset[str]:
    """What a code's title says of the site and kind, without side, encounter and "unspecified"."""
    return frozenset(re.findall(r"[a-z]+", tabular.description(_stem_code(code, tabular)).lower())) - _SITE_FILLERS


def _side_of_entry(work: Worklist, entry: Entry, side: str, seventh: str) -> None:
    """The dictionary's code with the side the note names, when it names none (S72.309A → S72.302A), and open when
    the note says the fracture is open (S72.352A → S72.352B)."""
    tabular = work.tabular
    flat = entry.code.replace(".", "")
    reopen = seventh in ("B", "C") and flat[6:7] == "A"
    if reopen and (not side or _sides(entry.code, tabular) == {side}):
        side = next(iter(_sides(entry.code, tabular)), "")
    elif not side or _sides(entry.code, tabular) == {side}:
        return
    parent = tabular.get(_stem_code(entry.code, tabular))
    if parent is None or not parent.parent:
        return
    sided = complete_site(parent.parent, side, seventh if reopen or len(flat) != 7 else flat[6], tabular)
    if sided and sided != entry.code and _site_words(entry.code, tabular) <= _site_words(sided, tabular):
        work.add(sided, entry.suggestion.evidence, "injury site", f"the note names the {side} side",
                 entry.suggestion.score, entry.suggestion.source)
        work.absorb(entry.code, sided, "injury site", f"the note names the {side} side")


def unspecified_injuries(work: Worklist) -> None:
    """"Unspecified injury of head" (S09.90) beside the injury the note names there (concussion S06.0X0A), or
    "Injury, unspecified" (T14.90) beside any named injury, or a burn of no stated region (T30.0) beside a placed one: the named one is the condition (one condition, one code).
    One named only in the past history is left for review."""
    coded = work.coded()
    for entry in coded:
        title = work.tabular.description(entry.code).lower()
        burn = entry.code.startswith("T30")  # "Burn of unspecified body region" beside the burn the note places
        if not (burn or entry.code.startswith("T14.9") or entry.code[0] == "S" and title.startswith("unspecified injury")):
            continue
        if entry.spans and all(work.analysis.section_at(a).kind == "history" for a, _ in entry.spans):
            work.demote(entry.code, "history", "an unnamed injury of the past history ('amputation in 2018 after "
                        "trauma') is no current injury")
            continue
        region = ("T20", "T21", "T22", "T23", "T24", "T25", "T26", "T27", "T28") if burn else \
            "S" if entry.code[0] == "T" else entry.code[:2]
        named = [o for o in coded if o is not entry and o.code.startswith(region)
                 and not work.tabular.description(o.code).lower().startswith("unspecified injury")]
        if named:
            work.absorb(entry.code, named[0].code, "one condition, one code",
                        f"{named[0].code} names the injury {entry.code} leaves unspecified")


def open_bites(work: Worklist) -> None:
    """A bite is coded as the open bite of its site (S51.851A): the laceration or puncture the note describes at that
    site is the same wound ("bitten on R forearm by a dog ... 2 puncture wounds + 1.5 cm laceration")."""
    tabular = work.tabular
    bites = [e for e in work.coded() if e.code.startswith("S") and "open bite" in tabular.description(e.code).lower()]
    for bite in bites:
        for entry in work.coded():
            title = tabular.description(entry.code).lower()
            if entry.code != bite.code and entry.code[:5] == bite.code[:5] and entry.code[6:] == bite.code[6:] and \
                    ("laceration" in title or "puncture wound" in title):
                work.absorb(entry.code, bite.code, "one condition, one code", "the bite is this wound")
