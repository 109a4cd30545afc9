"""Neoplasms read the way a coder reads them (I.C.2): the site words pick the Neoplasm Table row, the morphology and
the metastasis words pick the column, and the side completes the code.

"Adenocarcinoma of the right upper lobe of the lung with metastases to bone" is two codes: the primary site
(lung > upper lobe, Malignant Primary, right: C34.11) and the secondary one (bone, Malignant Secondary: C79.51).
Words of metastasis make the sites they point at secondary ("metastases to X", "X metastases", "metástasis
óseas") and the site they come from primary ("metastases from X"). A secondary with the primary stated unknown adds
C80.1. An encounter for chemotherapy, immunotherapy or radiotherapy is listed first (Z51.11, Z51.12, Z51.0).
The table rows come from the CMS Neoplasm Table (``core.kb.neoplasm``); the words from ``data/neoplasm_table.toml``
and ``data/conventions/neoplasm.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.kb.index import AlphabeticIndex
from core.kb.neoplasm import (
    DEFAULT_VOCABULARY,
    TABLE_HEAD,
    _alternatives,
    _row_key,
    complete_code,
    find_row,
    load_vocabulary,
    table_rows,
)
from core.nlp.assertion import NOT_CODED
from core.nlp.laterality import side_near
from core.rules.generic_words import GENERIC_WORDS
from core.rules.neoplasm_history import malignancy_history_code
from core.rules.screening import screening
from core.rules.worklist import Worklist
from core.schema import Span

RULE = "neoplasm table"
CUES = Path(__file__).resolve().parents[2] / "data" / "conventions" / "neoplasm.toml"
PRIMARY, SECONDARY = "Malignant Primary", "Malignant Secondary"
# Columns a morphology word alone decides (a bare "tumor" or "neoplasm" leaves the behaviour to the coder).
DECIDING = (PRIMARY, "Ca in situ", "Benign")
UNKNOWN_ROW = ("unknown site or unspecified",)
MAX_PHRASE = 5
MAX_GAP = 4
_WORD = re.compile(r"[^\W\d_]+")
# Words that may stand between the sites of one list ("to the brain and both bones", "óseas y hepáticas").
_CONNECTORS = {"and", "the", "both", "multiple", "or", "y", "e", "o", "el", "la", "los", "las", "ambos", "ambas",
               "left", "right", "izquierdo", "izquierda", "derecho", "derecha", "bilateral", "of", "de", "del",
               "l", "r", "lt", "rt"}  # side abbreviations ("upper outer quadrant of the L breast")
# "Ca 8.9", "Ca++ 1.1", "Ca: 9.2": a calcium value, not a cancer.
_LAB_VALUE = re.compile(r"\s*(?:\+\+|2\+)?\s*[:=]?\s*\d")
_NOUN_TRIGGER = re.compile(r"metastas[ie]s|mets|secondaries", re.IGNORECASE)


@lru_cache(maxsize=65536)  # every clause of every note folds the same words
def fold(word: str) -> str:
    """Lower case, no accents, no plural or gender ending: "óseas" and "óseo", "bones" and "bone" meet."""
    from core.nlp.textnorm import strip_accents

    word = strip_accents(word.lower().replace("ñ", "\x00")).replace("\x00", "ñ")  # "años" is not "ano"
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    if len(word) > 3 and word[-1] in "aoe":
        word = word[:-1]
    return word


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in _WORD.findall(text))


@dataclass(frozen=True)
class TableWords:
    rows: dict[tuple[str, ...], dict[str, str]]
    sites: dict[tuple[str, ...], tuple[str, ...]]  # folded words -> row key
    subsites: dict[tuple[str, ...], str]  # folded words -> child row title (English)
    morphology: dict[tuple[str, ...], str]  # folded words -> the column they decide
    aliases: dict[tuple[str, ...], tuple[str, ...]]  # row -> the row it refers to for its sub-rows
    by_index: dict[tuple[str, ...], dict[str, str]]  # morphology words -> folded site title -> the index's code


_WORDS: dict[tuple[int, str], TableWords] = {}


def table_words(index: AlphabeticIndex, language: str, vocabulary_path: Path = DEFAULT_VOCABULARY) -> TableWords:
    """Site, sub-site and morphology words of one language, each pointing into the table (built once per index)."""
    key = (id(index), language)
    if key not in _WORDS:
        _WORDS.clear()
        _WORDS[key] = _table_words(index, language, vocabulary_path)
    return _WORDS[key]


def _table_words(index: AlphabeticIndex, language: str, vocabulary_path: Path) -> TableWords:
    rows = dict(table_rows(index))
    aliases: dict[tuple[str, ...], tuple[str, ...]] = {}
    for term in index.terms:  # "colon — see also Neoplasm, intestine, large": its sub-rows and missing columns
        reference = term.see_also or term.see
        if term.source != "neoplasm" or term.path[:1] != (TABLE_HEAD,) or not reference.startswith("Neoplasm"):
            continue
        key, target = _row_key(term.path[1:]), find_row(rows, _row_key(reference.split(",")[1:]))
        if key in rows and target and target != key:
            aliases[key] = target
            rows[key] = {**{c: v for c, v in rows[target].items() if v != "-"},
                         **{c: v for c, v in rows[key].items() if v != "-"}}
    vocabulary = load_vocabulary(vocabulary_path, language)
    sites: dict[tuple[str, ...], tuple[str, ...]] = {}
    if language == "en":
        ranked: dict[tuple[str, ...], tuple[int, tuple[str, ...]]] = {}
        for key in rows:
            if len(key) == 1:
                for word in sorted(_alternatives(key[0])):
                    # "lung" is the row "lung", not the row "lingula, lung" that also names it
                    rank = (0 if key[0].split(",")[0].replace(" nec", "").strip() == word else 1, key)
                    if len(word) >= 3 and "(" not in word and rank < ranked.get(_phrase(word), (2, ())):
                        ranked[_phrase(word)] = rank
        sites.update({words: key for words, (_, key) in ranked.items()})
    for word, path in vocabulary.sites.items():
        key = find_row(rows, _row_key(path.split(" > ")))
        if key and key != UNKNOWN_ROW:
            sites[_phrase(word)] = key
    sites.pop(_phrase("unknown site or unspecified"), None)
    section = _toml(vocabulary_path).get(language, {})
    subsites = {_phrase(word): title for word, title in section.get("subsites", {}).items()}
    morphology = {_phrase(word): columns[0] for word, columns in vocabulary.behaviours.items()
                  if len(columns) == 1 and columns[0] in DECIDING}
    by_index = {_phrase(word): _index_sites(index, path) for word, path in section.get("index_terms", {}).items()}
    return TableWords(rows, sites, subsites, morphology, aliases, by_index)


def _index_sites(index: AlphabeticIndex, path: str) -> dict[str, str]:
    """The site subterms of a morphology's index entry ("Carcinoma > intraductal > breast D05.1-"): the index is read
    before the table, and where it names the site its code is the one (I.C.2)."""
    term = index.find(*(p.strip() for p in path.split(">")))
    if term is None:
        return {}
    return {" ".join(_phrase(word)): child.code for child in index.children(term) if child.code
            for word in _alternatives(child.path[-1].lower())}


@lru_cache(maxsize=4)
def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@lru_cache(maxsize=2)
def cues(language: str) -> dict[str, re.Pattern[str] | dict[str, re.Pattern[str]]]:
    section = _toml(CUES).get(language, {})
    found: dict[str, re.Pattern[str] | dict[str, re.Pattern[str]]] = {
        name: re.compile(section[name], re.IGNORECASE) for name in
        ("secondary", "to", "from", "unknown_primary", "primary_excised", "treated_primary", "encounter") if name in section}
    found["therapy"] = {code: re.compile(p, re.IGNORECASE) for code, p in section.get("therapy", {}).items()}
    return found


@dataclass
class Mention:
    key: tuple[str, ...]  # table row, or the column for a morphology word
    first: int  # token indexes [first, last)
    last: int
    start: int  # characters
    end: int


def _tokens(text: str, start: int, end: int) -> list[tuple[str, int, int]]:
    return [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text, start, end)]


def _match(tokens: list[tuple[str, int, int]], phrases: dict[tuple[str, ...], object]) -> list[Mention]:
    """Longest phrases first, left to right, each token in one phrase."""
    found: list[Mention] = []
    folded = [t[0] for t in tokens]
    i = 0
    while i < len(tokens):
        for size in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
            words = tuple(folded[i:i + size])
            if words in phrases:
                value = phrases[words]
                key = value if isinstance(value, tuple) else (str(value),)
                found.append(Mention(key, i, i + size, tokens[i][1], tokens[i + size - 1][2]))
                i += size
                break
        else:
            i += 1
    return found


def _subsite(words: TableWords, site: Mention, tokens: list[tuple[str, int, int]], language: str) -> Mention:
    """The site's row refined by a sub-site named in the same statement ("upper lobe" of the lung)."""
    parents = [site.key]
    if site.key in words.aliases:  # "colon" → "intestine, large" and its "colon" sub-row
        target = words.aliases[site.key]
        parents += [target, *(k for k in words.rows if k[:-1] == target and site.key[-1] in _alternatives(k[-1]))]
    children = {key: key[-1] for key in words.rows if len(key) > 1 and key[:-1] in parents}
    if not children:
        return site
    phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, title in children.items():
        for alternative in _alternatives(title):
            if language == "en" and len(alternative) >= 3:
                phrases[_phrase(alternative)] = key
    for words_, title in words.subsites.items():
        key = next((k for k, t in children.items() if title.lower() in _alternatives(t)), None)
        if key:
            phrases[words_] = key
    for found in _match(tokens, phrases):
        between = tokens[site.last:found.first] if found.first >= site.last else tokens[found.last:site.first]
        if (found.first >= site.last or found.last <= site.first) and len(between) <= 3 \
                and all(t[0] in _SUBSITE_CONNECTORS for t in between):
            return Mention(found.key, min(site.first, found.first), max(site.last, found.last),
                           min(site.start, found.start), max(site.end, found.end))
    return site


def _chain(sites: list[Mention], tokens: list[tuple[str, int, int]], begin: int, forward: bool) -> list[Mention]:
    """The sites of one list starting at token ``begin`` (forward) or ending there (backward)."""
    by_first = {s.first: s for s in sites}
    by_last = {s.last: s for s in sites}
    chain: list[Mention] = []
    i = begin
    while 0 <= i <= len(tokens):
        site = by_first.get(i) if forward else by_last.get(i)
        if site is not None:
            chain.append(site)
            i = site.last if forward else site.first
            continue
        j = i if forward else i - 1
        if 0 <= j < len(tokens) and tokens[j][0] in _CONNECTORS_FOLDED:
            i += 1 if forward else -1
            continue
        break
    return chain


_CONNECTORS_FOLDED = {fold(w) for w in _CONNECTORS}
# A sub-site may also be joined to its site by "in" ("adenocarcinoma de pulmón en lóbulo superior").
_SUBSITE_CONNECTORS = _CONNECTORS_FOLDED | {"en", "in", "at", "a", "nivel"}


@dataclass
class Found:
    code: str
    column: str
    start: int
    end: int


def _first_token(tokens: list[tuple[str, int, int]], offset: int) -> int:
    return next((i for i, t in enumerate(tokens) if t[1] >= offset), len(tokens))


def read_clause(text: str, start: int, end: int, words: TableWords, language: str) -> list[Found]:
    """The (row, column) pairs one clause states, as table codes before the tabular list completes them."""
    pattern = cues(language)
    secondary_cue = pattern.get("secondary")
    tokens = _tokens(text, start, end)
    morphology = [m for m in _match(tokens, words.morphology) if not _a_service(tokens, m)
                  and not (text[m.start:m.end].lower() == "ca" and _LAB_VALUE.match(text, m.end))]
    triggers = list(secondary_cue.finditer(text, start, end)) if isinstance(secondary_cue, re.Pattern) else []
    if not morphology and not triggers:  # no neoplasm word: nothing below can be found (and sites cost the most)
        return []
    sites = [_subsite(words, s, tokens, language) for s in _match(tokens, words.sites)]
    sites = _without_overlaps(sites)
    secondary: list[Mention] = []
    primary_from: list[Mention] = []
    for trigger in triggers:
        after = _first_token(tokens, trigger.end())
        rest = text[trigger.end():end]
        to, source = pattern.get("to"), pattern.get("from")
        if isinstance(to, re.Pattern) and (m := to.match(rest)):
            secondary += _chain(sites, tokens, _first_token(tokens, trigger.end() + m.end()), True)
        elif isinstance(source, re.Pattern) and (m := source.match(rest)):
            following = [s for s in sites if s.start >= trigger.end() + m.end()]
            primary_from += following[:1]
            if _NOUN_TRIGGER.fullmatch(trigger.group()):  # "brain metastases from breast carcinoma"
                secondary += _chain(sites, tokens, _first_token(tokens, trigger.start()), False)
        elif language == "es" and (chain := _chain(sites, tokens, after, True)):
            secondary += chain
        elif _NOUN_TRIGGER.fullmatch(trigger.group()):
            secondary += _chain(sites, tokens, _first_token(tokens, trigger.start()), False)
    secondary = _most_specific(secondary, words, SECONDARY, 0)  # "thoracic spine (bone)": one site, the spine's
    claimed = {id(s) for s in secondary}
    found = [Found(_code(words, s, SECONDARY), SECONDARY, s.start, s.end) for s in secondary]
    first_trigger = triggers[0].start() if triggers else end
    if morphology or primary_from:
        candidates = primary_from or [s for s in sites if id(s) not in claimed and s.end <= first_trigger]
        if not candidates and morphology:  # "metástasis ... de adenocarcinoma de colon": after the list
            candidates = [s for s in sites if id(s) not in claimed]
        if not primary_from:  # the site is the morphology's own ("carcinoma of the left breast"), not any site
            candidates = [s for s in candidates if _attached(s, morphology, text)]
        for site in _most_specific(candidates, words, PRIMARY):
            column = _column(site, morphology)
            code = _index_code(words, site, morphology, tokens) or _code(words, site, column)
            found.append(Found(code, column, site.start, site.end))
    return [f for f in found if f.code]


# "Thoracic tumor board", "cancer center", "comité de tumores": a meeting or a service, not a neoplasm of the site.
_SERVICE_AFTER = frozenset({"board", "boards", "conference", "committee", "center", "centre", "clinic", "institute",
                            "registry", "team", "navigator"})
_SERVICE_BEFORE = frozenset({"comite", "unidad", "consulta", "sesion", "servicio"})


def _a_service(tokens: list[tuple[str, int, int]], word: Mention) -> bool:
    after = tokens[word.last][0] if word.last < len(tokens) else ""
    before = [t[0] for t in tokens[max(0, word.first - 2):word.first]]
    return after in _SERVICE_AFTER or bool(before) and before[0] in _SERVICE_BEFORE and before[-1] in ("de", "del")


def _attached(site: Mention, morphology: list[Mention], text: str) -> bool:
    """At most MAX_GAP words between a site and a morphology word, and no heading colon: one noun phrase, not a long
    sentence's other site ("CT of the abdomen ... shows carcinoma", "Thoracic oncology: carcinoma of ...")."""
    return any(max(site.first - m.last, m.first - site.last) <= MAX_GAP
               and ":" not in text[min(site.end, m.end):max(site.start, m.start)] for m in morphology)


def _without_overlaps(sites: list[Mention]) -> list[Mention]:
    kept: list[Mention] = []
    for site in sorted(sites, key=lambda s: (-(s.last - s.first), s.first)):
        if all(site.last <= k.first or site.first >= k.last for k in kept):
            kept.append(site)
    return sorted(kept, key=lambda s: s.first)


def _most_specific(sites: list[Mention], words: TableWords, column: str, gap: int = 1) -> list[Mention]:
    """Of sites next to each other ("sigmoid colon", "colon sigmoide", "thoracic spine"), the one whose row is the
    most specific in the column coded: one noun phrase names one site. A list of secondaries ("liver and brain")
    is no noun phrase: ``gap`` 0 there."""
    kept: list[Mention] = []
    for site in sites:
        previous = kept[-1] if kept else None
        if previous is not None and site.first - previous.last <= gap:
            if _vagueness(words, site, column) < _vagueness(words, previous, column):
                kept[-1] = site
            continue
        kept.append(site)
    return kept


def _vagueness(words: TableWords, site: Mention, column: str) -> tuple[int, int]:
    code = words.rows.get(site.key, {}).get(column, "")
    return (0 if code and not code.endswith(("9", "-")) else 1, -len(site.key))


def _column(site: Mention, morphology: list[Mention]) -> str:
    nearest = min(morphology, key=lambda m: abs(m.start - site.start), default=None)
    return nearest.key[0] if nearest else PRIMARY


def _index_code(words: TableWords, site: Mention, morphology: list[Mention], tokens: list[tuple[str, int, int]]) -> str:
    """The code the nearest morphology's own index entry gives for the site's row, if it names it."""
    nearest = min(morphology, key=lambda m: abs(m.start - site.start), default=None)
    if nearest is None:
        return ""
    sites = words.by_index.get(tuple(t[0] for t in tokens[nearest.first:nearest.last]), {})
    return next((sites[t] for t in (" ".join(_phrase(a)) for a in _alternatives(site.key[0])) if t in sites), "")


def _code(words: TableWords, site: Mention, column: str) -> str:
    printed = words.rows.get(site.key, {}).get(column, "")
    return "" if not printed or printed == "-" else printed


def neoplasms(work: Worklist, index: AlphabeticIndex | None) -> None:
    """Code the note's neoplasm statements through the table, absorbing the codes that read them otherwise."""
    screening(work)
    if index is None:
        return
    analysis = work.analysis
    text, language = analysis.text, analysis.language
    words = table_words(index, language)
    if not words.rows:
        return
    derived: list[tuple[str, str, Span]] = []
    sentences: list[tuple[int, int]] = []
    for s_start, s_end in analysis.sentences.spans:
        clauses = [(m.start(), m.end()) for m in re.finditer(r"[^;]+", text[s_start:s_end])]
        for c_start, c_end in ((s_start + a, s_start + b) for a, b in clauses):
            found = read_clause(text, c_start, c_end, words, language)
            kept = [f for f in found if analysis.assertion_of(f.start, f.end)[0] not in (*NOT_CODED, "historical")]
            sides = _sides(text, kept, c_start, c_end, language)
            for item, side in zip(kept, sides, strict=True):
                code = complete_code(item.code, work.tabular, side) or complete_code(item.code, work.tabular)
                if code:
                    derived.append((code, item.column, Span(start=item.start, end=item.end,
                                                            text=text[item.start:item.end])))
            if kept:
                sentences.append((c_start, c_end))
    unknown = cues(language).get("unknown_primary")
    if (isinstance(unknown, re.Pattern) and (m := unknown.search(text))
            and any(c == SECONDARY for _, c, _ in derived) and not any(c == PRIMARY for _, c, _ in derived)):
        derived.append(("C80.1", PRIMARY, Span(start=m.start(), end=m.end(), text=m.group())))
    derived = _excised_primaries(work, derived)
    for code, column, span in derived:
        if not work.tabular.is_billable(code):
            continue
        if code.startswith("C80") and span.text.strip().lower() in GENERIC_WORDS.get(language, ()):
            continue  # "anemia in neoplastic disease": "disease" alone is no generalized malignancy (C80.0)
        if code in work.entries and work.entries[code].absorbed_by.startswith("Z85"):
            continue  # the history rule read the same words as a past malignancy ("tratado con prostatectomía en 2016")
        work.add(code, [span], RULE, f"'{span.text}': Neoplasm Table, {column.lower()} column "
                 f"({work.tabular.description(code)})", 0.9, "neoplasm-table")
    codes = {code for code, _, _ in derived}
    for entry in list(work.coded()):
        if entry.code in codes or not _table_code(entry.code):
            continue
        if any(s < e2 and s2 < e for s, e in entry.spans for s2, e2 in sentences):
            by = next((c for c, col, _ in derived if (col == SECONDARY) == _is_secondary(entry.code)), "")
            by = by or derived[0][0]
            work.absorb(entry.code, by, RULE, f"the Neoplasm Table reads the statement as {by}")
    therapy_encounter(work, bool(derived))
    lung_lobes(work)


def _sides(text: str, kept: list[Found], start: int, end: int, language: str) -> list[str]:
    """Each site's side; a site named twice in one clause ("bx of L breast shows DCIS, breast") is one organ, so the
    side read at one naming serves the other."""
    sides = [side_near(text, f.start, f.end, _side_bounds(text, f, start, end, language), language) for f in kept]
    said = {f.code: side for f, side in zip(kept, sides, strict=True) if side}
    return [side or said.get(f.code, "") for f, side in zip(kept, sides, strict=True)]


def _excised_primaries(work: Worklist, derived: list[tuple[str, str, Span]]) -> list[tuple[str, str, Span]]:
    """A primary the note says was excised with no further treatment and no recurrence is history (Z85), while its
    metastases stay current (I.C.2.d): "liver metastases of rectal adenocarcinoma; the primary was resected in 2019,
    no further treatment, no recurrence" → C78.7 + Z85.048."""
    found = cues(work.analysis.language)
    excised, treated = found.get("primary_excised"), found.get("treated_primary")
    text, sentences = work.analysis.text, work.analysis.sentences
    whole = isinstance(excised, re.Pattern) and bool(excised.search(text))

    def treated_here(span: Span) -> bool:
        """"left breast cancer s/p lumpectomy 2015, no evidence of disease", read in the statement's sentence and the
        next one ("... s/p prostatectomy 2021. PSA undetectable, no evidence of disease.")."""
        left, end = sentences.sentence_bounds(span.start, span.end)
        start = left if _TREATED_FOR.search(text, left, span.start) else span.start  # "s/p prostatectomy for ..."
        following = sentences.next_sentence(end)
        if following is not None:
            end = following[1]
        return isinstance(treated, re.Pattern) and bool(treated.search(text[start:end].replace("\n", " ")))

    # "h/o R breast ca s/p lumpectomy 2014, NED ... A: metastatic breast ca to bone": the primary named again with its
    # metastases is the one treated before, unless the note says it came back
    def named_again(span: Span) -> bool:
        left, right = sentences.sentence_bounds(span.start, span.end)
        site = text[span.start:span.end].lower()
        before = [(a, b) for a, b in sentences.spans if b <= left and site in text[a:b].lower()]
        return any(isinstance(treated, re.Pattern) and treated.search(text[a:b].replace("\n", " ")) for a, b in before) \
            and not any(not _NOT_BACK.search(text, max(left, m.start() - 30), m.start())
                        for m in _BACK.finditer(text, left, right))

    out: list[tuple[str, str, Span]] = []
    for code, column, span in derived:
        history = malignancy_history_code("personal", code, work.tabular) \
            if column == PRIMARY and (whole or treated_here(span) or named_again(span)) else ""
        out.append((history, "personal history", span) if history and code != "C80.1" else (code, column, span))
    return out


_TREATED_FOR = re.compile(r"\b(?:s/p|status post|post|after|tras|\w*ectom[yí]a?|resection|resecci[oó]n)\b[^.;]{0,60}"
                          r"\b(?:for|por)\b[^.;]{0,60}$", re.IGNORECASE)
_BACK = re.compile(r"\b(?:recurren\w*|recurred|relapse\w*|recidiv\w*|reca[ií]da)", re.IGNORECASE)
_NOT_BACK = re.compile(r"\b(?:no|without|sin|negative for)\b", re.IGNORECASE)


def _side_bounds(text: str, item: Found, start: int, end: int, language: str) -> tuple[int, int]:
    """A site's side is read in its own part of the clause: a primary's before the metastasis words, a
    secondary's in its list."""
    trigger = cues(language).get("secondary")
    marks = [m.start() for m in trigger.finditer(text, start, end)] if isinstance(trigger, re.Pattern) else []
    if item.column == SECONDARY:
        before = [m for m in marks if m < item.start]
        return (before[-1] if before else max(start, item.start - 12), min(end, item.end + 12))
    after = [m for m in marks if m > item.end]
    return start, after[0] if after else end


def _table_code(code: str) -> bool:
    """Codes of the Neoplasm Table's columns (C00–C80, D00–D49), not the lymphomas and leukemias."""
    return ("C00" <= code[:3] <= "C80") or ("D00" <= code[:3] <= "D49")


def _is_secondary(code: str) -> bool:
    return "C77" <= code[:3] <= "C79"


# A therapy planned for a later visit, or a visit for what the therapy caused: not an encounter for the therapy.
_NOT_THIS_VISIT = re.compile(r"\bnext (?:wk|week|month|visit)\b|\bwill (?:start|begin|receive)\b|\bplan(?:s|ned)? to (?:start|begin)\b|"
                             r"\badm(?:itted)?\s+(?:w/|with\b)|\bpr[oó]xim[oa] (?:semana|visita|ciclo)\b|"
                             r"\bingres[ao] por\b|\binici(?:ar[aá]|o) la pr[oó]xima\b|\bgiven \d+ ?d(?:ays?)? (?:PTA|ago|"
                             r"prior)\b|\badministrad[oa] hace \d", re.IGNORECASE)


def therapy_encounter(work: Worklist, neoplasm: bool) -> None:
    """An encounter for chemotherapy, immunotherapy or radiotherapy of a neoplasm: Z51.11 / Z51.12 / Z51.0, listed
    first (I.C.2.e)."""
    neoplasm = neoplasm or any(_table_code(e.code) or "C81" <= e.code[:3] <= "C96" for e in work.coded())
    pattern = cues(work.analysis.language)
    encounter, therapies = pattern.get("encounter"), pattern.get("therapy")
    if not neoplasm or not isinstance(encounter, re.Pattern) or not isinstance(therapies, dict):
        return
    text = work.analysis.text
    for cue in encounter.finditer(text):
        left, right = work.analysis.sentences.sentence_bounds(cue.start(), cue.end())
        if _NOT_THIS_VISIT.search(text, left, right):
            continue  # "Plan: C1 carboplatin next wk"; "on carboplatin, C2D10 — adm w/ fever"
        window = text[cue.end():cue.end() + 60]
        for code, therapy in therapies.items():
            m = therapy.search(window)
            if m is None or not work.tabular.is_billable(code):
                continue
            start, end = cue.start(), cue.end() + m.end()
            work.add(code, [Span(start=start, end=end, text=text[start:end])], "encounter for therapy",
                     f"'{text[start:end]}': {work.tabular.description(code)}, listed first", 0.95, "neoplasm-table")
            for other in list(work.coded()):  # "Encounter for" read alone (Z76.89) is this encounter
                if other.code != code and other.code.startswith("Z") and other.spans and all(
                        start <= a and b <= end for a, b in other.spans):
                    work.absorb(other.code, code, "encounter for therapy", f"'{text[start:end]}' is {code}")
            if code in work.order:
                work.order.remove(code)
            work.order.insert(0, code)
            return


# The lobe a lung neoplasm is in, as notes abbreviate it (the Neoplasm Table's "lung, upper lobe" reads words only).
_LOBES = {
    "en": {"C34.11": r"\bRUL\b|right upper lobe", "C34.12": r"\bLUL\b|left upper lobe", "C34.2": r"\bRML\b|right middle lobe",
           "C34.31": r"\bRLL\b|right lower lobe", "C34.32": r"\bLLL\b|left lower lobe"},
    "es": {"C34.11": r"\bLSD\b|l[oó]bulo superior derecho", "C34.12": r"\bLSI\b|l[oó]bulo superior izquierdo",
           "C34.2": r"\bLM\b|l[oó]bulo medio", "C34.31": r"\bLID\b|l[oó]bulo inferior derecho",
           "C34.32": r"\bLII\b|l[oó]bulo inferior izquierdo"},
}


def lung_lobes(work: Worklist) -> None:
    """A lung malignancy coded without its lobe (C34.90, C34.91) whose sentence names one lobe: that lobe's code."""
    lobes = _LOBES.get(work.analysis.language, {})
    for entry in list(work.coded()):
        if entry.code not in ("C34.90", "C34.91", "C34.92") or not entry.spans:
            continue
        left, right = work.analysis.sentences.sentence_bounds(*entry.spans[0])
        sentence = work.analysis.text[left:right]
        named = [code for code, words in lobes.items() if re.search(words, sentence, re.IGNORECASE)]
        if len(named) == 1 and work.tabular.is_billable(named[0]):
            work.add(named[0], list(entry.suggestion.evidence), RULE, f"the sentence names the lobe: "
                     f"{work.tabular.description(named[0])}", entry.suggestion.score, "neoplasm-table")
            work.absorb(entry.code, named[0], RULE, "the lobe is named")
