"""Pressure ulcers coded the way a coder codes them (I.C.12.a): one L89 code carries the site, the side and the stage.

The index entry "Ulcer, pressure" has a subterm per stage ("stage 1" ... "stage 4", "unstageable", "unspecified
stage") and under it the site ("heel" L89.6-, "sacral region" L89.15-); the tabular list completes the code with the
side and the stage ("Pressure ulcer of left heel, stage 3" L89.623). A pressure-induced deep tissue injury is the
same site with the final character .6. A pressure ulcer is no injury (S99.929A for "pressure injury of the heel")
and no non-pressure ulcer (L97.-, L98.4-): those readings of the same words are absorbed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.kb.index import AlphabeticIndex
from core.nlp.assertion import NOT_CODED
from core.nlp.laterality import side_near
from core.rules.neoplasm import fold
from core.rules.worklist import Worklist
from core.schema import Span

RULE = "pressure ulcer"
WORDS = Path(__file__).resolve().parents[2] / "data" / "conventions" / "pressure_ulcer.toml"
INDEX_ENTRY = "Ulcer, pressure"
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "one": "1", "two": "2", "three": "3", "four": "4"}
# Codes that read a pressure ulcer's words as something else: injuries, non-pressure ulcers, skin disorders.
_OTHER_READINGS = ("L89", "L97", "L98", "S", "T14", "T79", "R23", "L08", "I96")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class UlcerWords:
    ulcer: re.Pattern[str]
    deep_tissue: re.Pattern[str]
    stage: re.Pattern[str]
    unstageable: re.Pattern[str]
    sites: dict[tuple[str, ...], str]  # folded words -> the index's site subterm


@lru_cache(maxsize=2)
def ulcer_words(language: str) -> UlcerWords | None:
    section = tomllib.loads(WORDS.read_text(encoding="utf-8")).get(language) if WORDS.is_file() else None
    if not section:
        return None
    return UlcerWords(*(re.compile(section[k], re.IGNORECASE) for k in ("ulcer", "deep_tissue", "stage", "unstageable")),
                      {tuple(fold(w) for w in _WORD.findall(word)): site for word, site in section["sites"].items()})


@dataclass
class Ulcer:
    site: str  # index subterm ("heel"), "" when the note names none
    stage: str  # index subterm: "stage 3", "unstageable", "unspecified stage"; "deep tissue" for .6
    start: int
    end: int
    side: str


def _sites(text: str, start: int, end: int, words: UlcerWords) -> list[tuple[str, int, int]]:
    tokens = [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    found: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tokens):
        for size in (3, 2, 1):
            key = tuple(t[0] for t in tokens[i:i + size])
            if len(key) == size and key in words.sites:
                found.append((words.sites[key], tokens[i][1], tokens[i + size - 1][2]))
                i += size
                break
        else:
            i += 1
    return found


def _stages(segment: str, words: UlcerWords) -> list[tuple[int, str]]:
    """Each stage word of the segment, with its offset."""
    found: list[tuple[int, str]] = []
    for match in words.deep_tissue.finditer(segment):
        found.append((match.start(), "deep tissue"))
    for match in words.unstageable.finditer(segment):
        found.append((match.start(), "unstageable"))
    for match in words.stage.finditer(segment):
        number = (match.group(1) or match.group(2) or "").lower()
        found.append((match.start(), f"stage {_ROMAN.get(number, number)}"))
    return sorted(found)


def _stage(segment: str, words: UlcerWords, near: int = 0) -> str:
    """The stage word nearest to offset ``near`` of the segment ("stage 2, and a deep tissue injury of the left
    heel": the ankle's stage is 2, the heel's the deep tissue injury)."""
    found = _stages(segment, words)
    if not found:
        return "unspecified stage"
    return min(found, key=lambda item: abs(item[0] - near))[1]


# Words that say an ulcer's stage changed during the stay ("stage 2 on admission, progressed to stage 3").
_PROGRESSED = re.compile(r"\b(?:progress\w*|advanc\w*|evolv\w*|worsen\w*|deteriorat\w*|progres\w*|evolucion\w*|"
                         r"empeor\w*|pas[oó] a)\b", re.IGNORECASE)


def _own_stage(text: str, low: int, high: int, site: tuple[int, int], next_site: bool, words: UlcerWords) -> str:
    """The stage of the ulcer at ``site``, read in its part of the sentence: a stage after it that opens the next
    ulcer ("stage 4 ... of the sacrum and stage 2 pressure ulcer of the L buttock") is the next one's; an ulcer whose
    stage progressed during the stay is coded at its highest stage (I.C.12.a)."""
    found = [(low + at, stage) for at, stage in _stages(text[low:high], words)]
    if next_site:
        found = [(at, stage) for at, stage in found if at < site[1] or not words.ulcer.search(text, at, high)]
    if not found:
        return "unspecified stage"
    numbered = [(at, stage) for at, stage in found if stage[-1].isdigit()]
    if len(numbered) > 1 and _PROGRESSED.search(text, numbered[0][0], numbered[-1][0]):
        return max(stage for _, stage in numbered)
    return min(found, key=lambda item: abs(item[0] - site[0]))[1]


def read_ulcers(text: str, start: int, end: int, words: UlcerWords, language: str) -> list[Ulcer]:
    """The pressure ulcers one sentence names, each with the site, side and stage of its own part of the sentence
    ("stage 2 ... right buttock; stage 3 ... left hip")."""
    sites = _sites(text, start, end, words)
    if not sites:  # "pressure ulcer prevention", "turned q2h for pressure ulcers": no site, left to the dictionary
        return []
    ulcers: list[Ulcer] = []
    whole = _stage(text[start:end], words)
    for i, (site, s_start, s_end) in enumerate(sites):
        low = sites[i - 1][2] if i else start
        high = sites[i + 1][1] if i + 1 < len(sites) else end
        low = max([low, *(low + m.end() for m in re.finditer(";", text[low:s_start]))])
        high = min([high, *(s_end + m.start() for m in re.finditer(";", text[s_end:high]))])
        stage = _own_stage(text, low, high, (s_start, s_end), i + 1 < len(sites), words)
        if stage == "unspecified stage" and len(set(words.stage.findall(text[start:end]))) <= 1:
            stage = whole  # "stage 2 ulcers of the right heel and left heel": one stage for the list
        ulcers.append(Ulcer(site, stage, s_start, s_end, side_near(text, s_start, s_end, (low, high), language)))
    return ulcers


def ulcer_code(index: AlphabeticIndex, tabular, ulcer: Ulcer) -> str:  # noqa: ANN001
    """The index's code for the site under the stage, completed in the tabular list with side and stage."""
    stage = "unspecified stage" if ulcer.stage == "deep tissue" else ulcer.stage
    site = ulcer.site.partition(", ")[0]  # "back, lower": the index's site, then the part the tabular list names
    path = f"{INDEX_ENTRY}, {stage}, {site}" if site else INDEX_ENTRY
    term = index.resolve(path, exact=True)
    if term is None or not term.code:
        return ""
    family = tabular.billable_descendants(term.code.rstrip("-").rstrip("."))
    wanted = "deep tissue" if ulcer.stage == "deep tissue" else ulcer.stage
    options = [c for c in family if wanted in tabular.description(c).lower()]
    part = ulcer.site.partition(", ")[2]

    def rank(code: str) -> tuple[int, int, str]:
        words = tabular.description(code).lower().replace(",", " ").replace(wanted, " ").split()
        other_part = int(bool(part) and part not in words)  # "lower back": the lower, not the upper back
        if ulcer.side:
            return (other_part, 0 if ulcer.side in words else 1, code)
        return (other_part, 0 if "unspecified" in words else 1, code)

    return min(options, key=rank, default="")


def pressure_ulcers(work: Worklist, index: AlphabeticIndex | None) -> None:
    """One L89 code per pressure ulcer the note affirms; the other readings of its words are absorbed."""
    analysis = work.analysis
    words = ulcer_words(analysis.language)
    if index is None or words is None:
        return
    text = analysis.text
    for s_start, s_end in analysis.sentences.spans:
        cues = [m for m in words.ulcer.finditer(text, s_start, s_end)
                if analysis.assertion_of(m.start(), m.end())[0] not in (*NOT_CODED, "historical")]
        if not cues:
            continue
        added: list[str] = []
        spans = [(m.start(), m.end()) for m in cues]
        for ulcer in read_ulcers(text, s_start, s_end, words, analysis.language):
            code = ulcer_code(index, work.tabular, ulcer)
            if not code:
                continue
            evidence = [Span(start=m.start(), end=m.end(), text=m.group()) for m in cues[:1]]
            if ulcer.site:
                evidence.append(Span(start=ulcer.start, end=ulcer.end, text=text[ulcer.start:ulcer.end]))
                spans.append((ulcer.start, ulcer.end))
            work.add(code, evidence, RULE, f"Ulcer, pressure, {ulcer.stage}, {ulcer.site or 'site not named'}: "
                     f"{work.tabular.description(code)}", 0.9, "index")
            added.append(code)
        if not added:
            continue
        for entry in list(work.coded()):
            if entry.code in added or not entry.code.startswith(_OTHER_READINGS):
                continue
            scope = [(s_start, s_end)] if entry.code.startswith("L") else spans
            if any(a < d and c < b for a, b in entry.spans for c, d in scope):
                work.absorb(entry.code, added[0], RULE, "the words name a pressure ulcer, coded with site and stage")
