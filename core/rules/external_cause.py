"""External causes (ICD-10-CM I.C.20): how an injury happened, found the way a coder finds it.

A coder who has coded an injury looks up the cause in the External Cause Index: the main term the note's words name
("fell" → Fall, falling; "driver" → Accident), then the subterms whose words the note writes (Fall, falling > from,
off, out of > ladder → W11), and completes the code with X placeholders and the injury's encounter (W11.XXXA). This
module does the same: a short curated list (``data/conventions/external_causes.toml``) sends cue words to main terms
and Spanish words to the index's English words; everything below the main term is the index's own structure. The
rationale is the index path. No injury coded, no external cause; one external cause per note.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from core.kb.index import AlphabeticIndex, IndexTerm
from core.kb.tabular import Tabular, normalize_code
from core.nlp.analysis import NoteAnalysis
from core.nlp.textnorm import strip_accents
from core.rules.worklist import Worklist
from core.schema import Span
from core.settings import PROJECT_ROOT

CAUSES_FILE = PROJECT_ROOT / "data" / "conventions" / "external_causes.toml"
SOURCE = "external-cause"
# Words that only join a subterm to its parent ("from, off, out of", "in, on", "due to"): a walk passes through them.
FUNCTION_WORDS = frozenset("with from off out of in on into due to involving over through down by at while the a an "
                           "or and as any".split())
# Words that make a subterm a residual class, not something a note names.
# "Only" ("lateral malleolus only"): a note that names one part names it only.
FILLERS = frozenset("nec nos specified other unspecified type end part region site only".split())
MAX_DEPTH = 7
# Encounter 7th characters of chapter 19 read as the external cause's A / D / S (B open fracture → A; G, K, P → D).
_SEVENTH = {**dict.fromkeys("ABC", "A"), **dict.fromkeys("DEFGHJKMNPQR", "D"), "S": "S"}
_WORD = re.compile(r"[a-z]+|(?<!\d)[1-5](?:st|nd|rd|th)\b")  # "2nd degree", "5th metatarsal": ordinals the forms read
# A negation and what it scopes over, up to the next punctuation ("no foreign body", "sin cuerpo extraño").
_SCOPED = re.compile(r"\b(?:without|no|not|denies|negative for|free of|sin|niega)\b[^,.;:\n]*")
# A negation just before a cue word ("denies any fall", "no fall", "sin caídas", "niega caídas").
_NEGATED = re.compile(r"\b(?:no|denies|denied|without|negative for|sin|niega|niegan)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Cues:
    main: dict[str, str]  # stemmed cue word → External Cause Index main term as printed
    injury: dict[str, str]  # stemmed word naming an injury → main term of the Index to Diseases and Injuries
    elsewhere: frozenset[str]  # words that send an injury word to another main term ("pathological fracture")
    forms: dict[str, str]  # irregular English form → word
    spanish: tuple[tuple[re.Pattern[str], str], ...]  # Spanish word, stem or phrase → English words, longest first
    kinds: dict[str, str] = field(default_factory=dict)  # stemmed word → the kind the index names ("dog" → animal)
    literals: tuple[str, ...] = ()  # the text each ``spanish`` pattern must contain: most patterns need no search


@lru_cache(maxsize=1)
def cues() -> Cues:
    with CAUSES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    forms = {k.lower(): v.lower() for k, v in data.get("forms", {}).items()}
    main = {stem(word, forms): term for term, words in data.get("main", {}).items() for word in words}
    injury = {stem(word, forms): term for term, words in data.get("injury", {}).items() for word in words}
    spanish, literals = [], []
    for key, english in sorted(data.get("es", {}).items(), key=lambda kv: -len(kv[0])):
        key = strip_accents(key.lower())
        tail = r"\w*" if key.endswith("-") else r"(?:s|es)?\b"
        spanish.append((re.compile(rf"\b{re.escape(key.rstrip('-'))}{tail}"), english.lower()))
        literals.append(key.rstrip("-"))
    elsewhere = frozenset(stem(w, forms) for words in data.get("elsewhere", {}).values() for w in words)
    kinds = {stem(word, forms): stem(kind) for kind, words in data.get("kinds", {}).items() for word in words}
    return Cues(main, injury, elsewhere, forms, tuple(spanish), kinds, tuple(literals))


def stem(word: str, forms: dict[str, str] | None = None) -> str:
    """A light English stem that makes the note's and the index's forms meet: slipped, slipping, slip → slip;
    falls, falling → fall; irregular forms (fell, bitten) read through ``forms``."""
    word = (forms or {}).get(word, word)
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] in "bdgmnpt":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def english_words(text: str, language: str, affirmed: bool = False) -> list[tuple[str, int]]:
    """(stem, offset) of the index words a stretch of note writes; a Spanish note's words read through the curated
    Spanish → English list (only those words: the walk needs no other). ``affirmed``: without what a negation
    scopes over ("no foreign body" asks for no "with foreign body" subterm)."""
    return list(_english_words(text, language, affirmed))


_SIDE_ABBREVIATIONS = {"rt": "right", "lt": "left", "bilat": "bilateral"}
_SIDE_LETTERS = {"R": "right", "L": "left"}


def _side_abbreviation(text: str, match: re.Match[str]) -> str:
    """"R"/"L" before a word ("R distal radius", not "2 L"), "rt", "lt", "bilat": the side they stand for."""
    word = match.group()
    if word in _SIDE_ABBREVIATIONS:
        return _SIDE_ABBREVIATIONS[word]
    letter = text[match.start():match.end()]
    if letter not in _SIDE_LETTERS or not re.match(r" (?:[A-Za-z]|[1-5](?:st|nd|rd|th)\b)", text[match.end():match.end() + 5]):
        return ""
    before = text[max(0, match.start() - 2):match.start()]
    return "" if re.fullmatch(r"[\d.,] ", before) else _SIDE_LETTERS[letter]


@lru_cache(maxsize=32)
def _english_words(text: str, language: str, affirmed: bool) -> tuple[tuple[str, int], ...]:
    """The injury and external-cause rules read the same note's words: read once (one Spanish pass is ~4 ms)."""
    table = cues()
    lowered = strip_accents(text.lower())
    if affirmed:
        lowered = _SCOPED.sub(lambda m: " " * len(m.group()), lowered)
    if language != "es":
        return tuple((stem(_side_abbreviation(text, m) or m.group(), table.forms), m.start())
                     for m in _WORD.finditer(lowered))
    found: list[tuple[str, int]] = []
    taken: list[tuple[int, int]] = []
    for (pattern, english), literal in zip(table.spanish, table.literals or [""] * len(table.spanish), strict=True):
        if literal not in lowered:
            continue
        for match in pattern.finditer(lowered):
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            taken.append((match.start(), match.end()))
            found.extend((stem(w, table.forms), match.start()) for w in _WORD.findall(english))
    return tuple(sorted(found, key=lambda item: item[1]))


@dataclass(frozen=True, slots=True)
class Node:
    """What an index entry asks of the note: any one of its alternatives ("stairs, steps"), all its words."""

    alternatives: tuple[frozenset[str], ...]
    optional: frozenset[str]  # its nonessential modifiers' words
    connector: bool  # only joining words ("from, off, out of"): passed through
    residual: bool  # only a residual class ("specified NEC"): never a match
    negative: bool = False  # "without fall", "without loss of consciousness": matched by what the note negates


def _words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(strip_accents(text.lower()))]


def _plain(words: set[str]) -> set[str]:
    """"metatarsal bone", "carpal bone": a note writes "5th metatarsal"; "bone" alone stays a word."""
    return words - {"bone"} if len(words) > 1 else words


@lru_cache(maxsize=8192)
def _node(text: str, nonessential: str) -> Node:
    pieces = [p for p in re.split(r",|\bor\b", text.lower()) if p.strip()]
    raw = [set(_WORD.findall(p)) for p in pieces]
    alternatives = tuple(frozenset(stem(w) for w in _plain(words - FUNCTION_WORDS - FILLERS - {"without"}))
                         for words in raw)
    connector = all(words <= FUNCTION_WORDS for words in raw)
    residual = not connector and not any(alternatives)
    optional = frozenset(_words(nonessential)) - {stem(w) for w in FUNCTION_WORDS | FILLERS}
    negative = text.strip().lower().startswith("without ")
    return Node(tuple(a for a in alternatives if a), optional, connector, residual, negative)


@dataclass(frozen=True, slots=True)
class Found:
    code: str
    path: tuple[str, ...]
    covered: frozenset[str]

    @property
    def rationale(self) -> str:
        return " > ".join(self.path) + f" → {self.code}"


class CauseIndex:
    """One index's main terms (the External Cause Index, or the injuries of the main index), and the walk below
    them to the codes of ``prefixes``."""

    def __init__(self, index: AlphabeticIndex, source: str = SOURCE, prefixes: str = "VWXY") -> None:
        self.index = index
        self.prefixes = prefixes
        self.mains: dict[str, IndexTerm] = {}
        for term in index.terms:
            if term.source == source and len(term.path) == 1:
                self.mains.setdefault(_key(term.path[0]), term)

    def resolve(self, reference: str, main: IndexTerm | None = None, hops: int = 0) -> IndexTerm | None:
        """A "see" reference within this index ("Accident, transport, car occupant"), found in full; one that names
        the walk's own main term by its first word ("Fracture, femur, upper end" under "Fracture, traumatic") is
        read below that main term."""
        parts = [p.strip() for p in re.sub(r"\([^)]*\)", "", reference).split(",") if p.strip()]
        node = None
        for cut in range(len(parts), 0, -1):
            node = self.mains.get(_key(", ".join(parts[:cut])))
            if node is not None:
                node = self._down(node, parts[cut:])
                break
        else:
            if main is not None and parts and _key(main.path[0]).startswith(_key(parts[0])):
                node = self._down(main, parts[1:])
        if node is not None and not node.code and node.see and hops < 3:  # "hip" → "femur, neck" → "upper end, neck"
            return self.resolve(node.see, main, hops + 1) or node
        return node

    def _down(self, node: IndexTerm | None, parts: list[str]) -> IndexTerm | None:
        for part in parts:
            wanted = _key(part)
            node = next((c for c in self.index.children(node) if _key(c.path[-1]) in (wanted, f"{wanted} bone")
                         or wanted in (_key(p) for p in c.path[-1].split(","))), None) if node else None
        return node

    def walk(self, main: IndexTerm, words: frozenset[str], cue: str, raw: frozenset[str] = frozenset(),
             negated: frozenset[str] = frozenset()) -> Found | None:
        """The entry below ``main`` whose path covers the most of the note's ``words`` (stems; ``raw``: the note's
        plain words, for the joining subterms), a shorter path on a tie."""
        best: list[tuple[tuple[int, int, int, int], Found]] = []
        top = _node(main.path[0], main.nonessential)
        # The cue counts as covered only where it is the main term's own word ("fell"), not a word that sends the
        # coder there ("driver" → Accident): the subterm "driver" must then be walked to be covered.
        own = cue in _main_words(main)
        skips = int(main.path[0].startswith("Fracture"))  # a bone's parts may go unsaid; sites, causes may not
        start = (frozenset({cue}) if own else frozenset()) | (top.optional & words) | frozenset().union(
            *(a for a in top.alternatives if a <= words))

        def visit(node: IndexTerm, path: tuple[str, ...], covered: frozenset[str], joined: int, depth: int,
                  seen: frozenset[int], skipped: int = 0, pending: bool = False,
                  echo: frozenset[str] = frozenset()) -> None:
            code = node.code.strip()
            if code and not pending and normalize_code(code)[:1] in self.prefixes and (
                    len(path) > 1 and covered or own):
                best.append(((len(covered), joined, -skipped, -len(path)),
                             Found(normalize_code(code).rstrip("-"), path, covered)))
            if depth >= MAX_DEPTH:
                return
            for child in self.index.children(node):
                spec = _node(child.path[-1], child.nonessential)
                if spec.residual:
                    continue
                gained: frozenset[str] = frozenset()
                said = 0
                skip = False
                if spec.connector:  # "from, off, out of": the one the note writes reads better in the rationale
                    said = int(any(set(_WORD.findall(p)) <= raw for p in child.path[-1].lower().split(",")))
                elif echo and any(a <= echo for a in spec.alternatives):
                    # the entry a "see" sends the walk to, again below it ("intertrochanteric (see femur,
                    # trochanteric)" > intertrochanteric → S72.14-): the more precise code
                    gained, said = echo, 1
                else:
                    matched = [a for a in spec.alternatives if a <= (negated if spec.negative else words)]
                    if not matched:
                        # A part of a bone the note leaves unsaid ("tibial plateau fx": tibia > upper end > plateau)
                        # is passed through once, and counts only where a word below it is then matched.
                        if skipped >= skips or depth == 0 or spec.negative or not self.index.children(child):
                            continue
                        skip = True
                    else:
                        gained = frozenset().union(*matched)
                gained |= spec.optional & words
                targets = [child]
                if not child.code and child.see:
                    targets = [self.resolve(child.see, main) or child]
                    if skips and targets[0] is not child and len(targets[0].path) > 2:
                        # "hip (see femur, neck)": the bone's other parts too ("subcapital hip fracture")
                        targets.append(self.index.get(targets[0].parent_id))
                elif not child.code and child.see_also:  # "scaphoid (see also Fracture, carpal, navicular)"
                    targets.append(self.resolve(child.see_also, main) or child)
                for target in targets:
                    if target.id in seen:
                        continue
                    see = f"see {child.see}" if child.see else f"see also {child.see_also}"
                    label = child.path[-1] + (f" ({see})" if target is not child else "")
                    # a "see also" or the bone of a "see" ranks below a direct entry
                    detour = target is not child and (not child.see or target is not targets[0])
                    visit(target, (*path, label), covered | gained, joined + said, depth + 1, seen | {target.id},
                          skipped + skip + detour, skip or (pending and not gained - covered),
                          gained if target is not child and child.see else frozenset())

        visit(main, (main.path[0],), start, 0, 0, frozenset({main.id}))
        if not best:
            return None
        return max(best, key=lambda item: item[0])[1]


def _key(text: str) -> str:
    return " ".join(_WORD.findall(strip_accents(text.lower())))


def _main_words(main: IndexTerm) -> frozenset[str]:
    return frozenset().union(*_node(main.path[0], "").alternatives)


_CAUSE_INDEXES: dict[int, CauseIndex] = {}


def cause_index(index: AlphabeticIndex) -> CauseIndex:
    if id(index) not in _CAUSE_INDEXES:
        _CAUSE_INDEXES.clear()
        _CAUSE_INDEXES[id(index)] = CauseIndex(index)
    return _CAUSE_INDEXES[id(index)]


def is_injury(code: str) -> bool:
    """Chapter 19 injuries the external cause codes go with (not poisonings or complications of care: the Table of
    Drugs and the complication codes carry their own cause)."""
    return code[:1] == "S" or code[:1] == "T" and (code[1:3] <= "34" or "66" <= code[1:3] <= "79")


def is_external_cause(code: str) -> bool:
    return code[:1] in "VWX" or code[:1] == "Y" and code[1:3] <= "38"


def complete(code: str, seventh: str, tabular: Tabular) -> str:
    """The billable code: X placeholders to the sixth place and the encounter (W11 → W11.XXXA)."""
    flat = code.replace(".", "")
    for stem_ in (flat, flat[:-1] if len(flat) > 3 else flat):
        candidate = normalize_code(stem_.ljust(6, "X") + seventh)
        if tabular.is_billable(candidate):
            return candidate
    pick = tabular.default_code(code)
    if pick and len(pick.replace(".", "")) == 7 and tabular.is_billable(pick[:-1] + seventh):
        return pick[:-1] + seventh
    return pick if tabular.is_billable(pick) else ""


def external_causes(work: Worklist, index: AlphabeticIndex | None) -> None:
    """The external cause of the note's coded injury, walked in the External Cause Index from the note's cue words,
    completed with the injury's encounter; the dictionary's own external-cause codes give way to it."""
    if index is None:
        return
    injuries = [e for e in work.coded() if is_injury(e.code)]
    if not injuries:
        return
    flat = injuries[0].code.replace(".", "")
    seventh = _SEVENTH.get(flat[6], "A") if len(flat) == 7 else "A"
    table = cues()
    causes = cause_index(index)
    analysis = work.analysis
    best: tuple[tuple[int, int], Found, tuple[int, int]] | None = None
    sentences: set[tuple[int, int]] = set()
    for start, end in _cue_sentences(analysis.text, analysis):
        sentences.add((start, end))
        found = english_words(analysis.text[start:end], analysis.language, affirmed=True)
        words = _implied_level(frozenset(w for w, _ in found))
        words |= {table.kinds[w] for w in words if w in table.kinds}
        negated = frozenset(w for w, _ in english_words(analysis.text[start:end], analysis.language)) - words
        raw = frozenset(_WORD.findall(strip_accents(analysis.text[start:end].lower())))
        for word, offset in found:
            term = table.main.get(word)
            main = causes.mains.get(_key(term)) if term else None
            if main is None:
                continue
            at = start + offset
            if _NEGATED.search(analysis.text[max(start, at - 40):at]):
                continue  # "denies any fall", "no fall", "sin caída"
            if _NOT_A_CAUSE.search(analysis.text[max(start, at - 20):at]):
                continue  # "s/p IM nail", "ingrown toe nail": a device or a body part, not what hurt the patient
            hit = causes.walk(main, words, word, raw, negated)
            if hit is not None and (best is None or (len(hit.covered), -len(hit.path)) > best[0]):
                best = ((len(hit.covered), -len(hit.path)), hit, (start, end))
    if best is None:
        return
    _, hit, (start, end) = best
    code = complete(hit.code, seventh, work.tabular)
    car = _car_collision(analysis.text) if code.startswith("V4") else ""
    code = complete(car, seventh, work.tabular) or code if car else code
    if not code:
        return
    text = analysis.text[start:end].strip()
    offset = analysis.text.index(text, start) if text else start
    evidence = [Span(start=offset, end=offset + len(text), text=text)]
    score = max(e.suggestion.score for e in injuries)
    work.add(code, evidence, "external cause", f"{hit.rationale} ({_encounter_word(seventh)} of {injuries[0].code})",
             score, "external-cause-index")
    for entry in list(work.coded()):
        if entry.code != code and is_external_cause(entry.code) and _same_event(entry.spans, sentences, entry.code):
            work.absorb(entry.code, code, "external cause", "one external cause per cause event")


_NOT_A_CAUSE = re.compile(r"\b(?:im|intramedullary|cephalomedullary|toe|finger|ingrown|nail)\W*$", re.IGNORECASE)
_TRIPS = frozenset(stem(w) for w in ("trip", "slip", "stumble"))
_HEIGHTS = frozenset(stem(w) for w in ("stair", "stairs", "step", "steps", "ladder", "bed", "chair", "roof", "height",
                                       "wheelchair", "toilet", "tree", "bench", "table", "scaffold", "building"))
# "Tripped over a throw rug and fell": Tripping > over > carpet, rug or (small) object > with fall (W18.09).
_TRIPPED_OVER = frozenset(stem(w) for w in ("rug", "carpet", "object", "cord", "toy", "mat", "hose"))
_SAME_LEVEL = frozenset(stem(w) for w in ("same", "level"))


def _implied_level(words: frozenset[str]) -> frozenset[str]:
    """A fall after tripping, slipping or stumbling, from nothing higher, is a fall on the same level (Fall > same
    level > from > slipping, stumbling, tripping → W01.0)."""
    if words & _TRIPS and words & _TRIPPED_OVER:
        return words - _SAME_LEVEL  # "tropezar con la alfombra y caer al suelo": the rug's entry names the fall
    if stem("fall") in words and words & _TRIPS and not words & _HEIGHTS:
        return words | _SAME_LEVEL
    return words


def _encounter_word(seventh: str) -> str:
    return {"A": "initial encounter", "D": "subsequent encounter", "S": "sequela"}.get(seventh, "encounter")


def _same_event(spans: Iterable[tuple[int, int]], sentences: set[tuple[int, int]], code: str) -> bool:
    """Another external-cause code told in the cue's sentences, or an unspecified one (W19, X58) anywhere."""
    if code.startswith(("W19", "X58")):
        return True
    return any(s <= a and b <= e for a, b in spans for s, e in sentences)


def _cue_sentences(text: str, analysis: NoteAnalysis) -> list[tuple[int, int]]:
    """The sentences that hold a cue word (a word that sends a coder to a main term)."""
    table = cues()
    bounds: list[tuple[int, int]] = []
    for word, offset in english_words(text, analysis.language):
        if word in table.main:
            sentence = analysis.sentences.sentence_bounds(offset, offset + 1)
            if sentence not in bounds:
                bounds.append(sentence)
    return bounds


# A car occupant's collision, as notes tell it ("restrained driver, T-boned by another car", "conductor, colisión con
# un turismo"): the occupant (driver 5, passenger 6, unknown 9) and what the car hit give V43.-/V47.- (traffic).
_ROLES = (("5", re.compile(r"\bdriver\b|\bconductor(?:a)?\b", re.IGNORECASE)),
          ("6", re.compile(r"\bpassenger\b|\bpasajer[oa]\b|\bcopiloto\b|\bacompa[nñ]ante\b", re.IGNORECASE)))
_COLLISION = re.compile(r"\bcollid\w*|\bcollision\b|t-?boned|\b(?:struck|hit) by\b|rear-?ended|broadsided|head-on|"
                        r"\bchoque\b|\bcolisi[oó]n\b|\bembestid[oa]\b|\bchoc[oó]\b", re.IGNORECASE)
_OTHER_VEHICLE = (("V43.{role}1", re.compile(r"\bsuv\b|sport utility", re.IGNORECASE)),
                  ("V43.{role}3", re.compile(r"\bpick-?up\b", re.IGNORECASE)),
                  ("V43.{role}4", re.compile(r"\bvan\b|\bfurgoneta\b", re.IGNORECASE)),
                  ("V43.{role}2", re.compile(r"\b(?:another|other|oncoming|second) (?:car|vehicle|sedan)\b|\bby a (?:car|"
                                             r"sedan)\b|\bcon (?:otro|un) (?:coche|turismo|veh[ií]culo|autom[oó]vil)\b",
                                             re.IGNORECASE)),
                  ("V47.{role}", re.compile(r"\b(?:pole|tree|wall|guardrail|barrier|median|poste|[aá]rbol|muro|farola|"
                                            r"guardarra[ií]l|mediana)\b", re.IGNORECASE)))


def _car_collision(text: str) -> str:
    """The V43 / V47 code (without its 7th character) of a car occupant's collision the note tells, else ""."""
    if not _COLLISION.search(text):
        return ""
    role = next((digit for digit, words in _ROLES if words.search(text)), "9")
    return next((code.format(role=role) for code, words in _OTHER_VEHICLE if words.search(text)), "")
