"""Clinical abbreviations: a written-out view of a note for the dictionary, with offsets back to the original.

Notes abbreviate ("PMH: HTN, HLD, DM2, CAD s/p CABG"); the dictionary knows written-out index terms ("hypertension",
"type 2 diabetes mellitus"). ``expand`` replaces each abbreviation it can settle by its expansion, and
``ExpandedText.to_original`` maps a span found in the expanded text back to the note, so evidence offsets keep
pointing at what the clinician wrote.

The curated lists live in ``data/abbreviations/<lang>.tsv``: a header line, then tab-separated ``abbreviation``,
``expansion``, ``case``, ``context``, ``comment``; blank lines and lines starting with ``#`` are skipped.

- ``case`` ``exact``: the abbreviation counts only as written ("MI", never the Spanish word "mi"); ``any``: in any
  case ("s/p", "S/P").
- A space or hyphen in an abbreviation, and the step from a letter to a digit, stand for an optional separator:
  "DM2" also reads "DM 2" and "DM-2", "DM II" reads "DMII" and "DM-II", "A-fib" reads "Afib" and "A fib".
- An abbreviation listed with a final capital may take a plural or possessive when written with that capital
  ("UTIs", "CHF's"); the expansion stays singular.
- ``context`` empty: the meaning is settled. Otherwise a ``|``-separated list of cues (a word, a phrase, or a stem
  ending in ``*``; matched case- and accent-insensitively, a word also in its plural) that settle this meaning when
  one stands in the same sentence (split at ".", ";" and line breaks) within ``CONTEXT_WINDOW`` words of the
  abbreviation. When several meanings have a cue there, the nearest cue wins (ties: the earlier row). An
  abbreviation defined in parentheses anywhere in the note ("fosfatasa alcalina (FA)") takes that meaning in the
  rest of the note when no cue decides. Without a cue a context-dependent abbreviation is left alone, unless one of
  its rows has an empty context: that row is the default meaning (CVA is a cerebrovascular accident unless
  "tenderness" points to the costovertebral angle).

Never expanded: an abbreviation inside a longer word ("CADASIL"), in a URL, e-mail address or path, glued to a code
("CAD-001", "ICD-10"), a US state in an address ("Detroit, MI 48201"), written out beside it ("hypertension (HTN)",
"HTN (hypertension)"), or in parentheses after words whose initials spell it ("magnetic resonance (MR)").

Standard library only. One regex per list (a trie of all its abbreviations) finds the candidates; a note of 5,000
characters takes well under 5 ms.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.nlp.abbreviation_list import (
    _ALNUM_RUN,
    _ALNUM_RUN_BACK,
    _GLUE_LEFT,
    _GLUE_RIGHT,
    _SENTENCE_BREAK,
    _URL_LIKE,
    _WORD,
    _ZIP_CODE,
    CONTEXT_WINDOW,
    Abbreviation,
    _fold,
    _fold_word,
    _lookup_key,
    _Matcher,
    _matcher,
)


@dataclass(frozen=True)
class Expansion:
    start: int  # offsets of the abbreviation in the original text
    end: int
    abbreviation: str  # as written in the note, plural ending included
    expansion: str
    cue: str = ""  # the note's words that settled a context-dependent abbreviation; "" otherwise


@dataclass
class ExpandedText:
    """The note with its abbreviations written out, and maps between the offsets of both texts."""

    original: str
    text: str
    expansions: list[Expansion]
    _orig_starts: list[int] = field(init=False, repr=False, compare=False)
    _orig_ends: list[int] = field(init=False, repr=False, compare=False)
    _exp_starts: list[int] = field(init=False, repr=False, compare=False)
    _exp_ends: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.expansions = sorted(self.expansions, key=lambda e: e.start)
        self._orig_starts, self._orig_ends, self._exp_starts, self._exp_ends = [], [], [], []
        shift = 0
        for exp in self.expansions:
            inserted = _inserted_text(self.original, exp)
            self._orig_starts.append(exp.start)
            self._orig_ends.append(exp.end)
            self._exp_starts.append(exp.start + shift)
            self._exp_ends.append(exp.start + shift + len(inserted))
            shift += len(inserted) - (exp.end - exp.start)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """A span of the expanded text as a span of the original; one touching an expansion takes the whole
        abbreviation, other offsets shift by the length differences before them."""
        _check_span(start, end, len(self.text))
        new_start = _map_start(start, self._exp_starts, self._exp_ends, self._orig_starts, self._orig_ends)
        new_end = _map_end(end, self._exp_starts, self._exp_ends, self._orig_starts, self._orig_ends)
        return new_start, max(new_start, new_end)

    def to_expanded(self, start: int, end: int) -> tuple[int, int]:
        """A span of the original text as a span of the expanded one; one touching an abbreviation takes the whole
        expansion."""
        _check_span(start, end, len(self.original))
        new_start = _map_start(start, self._orig_starts, self._orig_ends, self._exp_starts, self._exp_ends)
        new_end = _map_end(end, self._orig_starts, self._orig_ends, self._exp_starts, self._exp_ends)
        return new_start, max(new_start, new_end)

    def inserted_spans(self) -> list[tuple[Expansion, int, int]]:
        """Each expansion with the offsets of its written-out text in the expanded text."""
        return list(zip(self.expansions, self._exp_starts, self._exp_ends, strict=True))

    def expansions_in(self, start: int, end: int) -> list[Expansion]:
        """The expansions that a span of the expanded text overlaps (the one holding an empty span)."""
        return [
            exp
            for exp, s, e in zip(self.expansions, self._exp_starts, self._exp_ends, strict=True)
            if (s < end and start < e) or (start == end and s <= start < e)
        ]


# -- finding ----------------------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    start: int
    end: int
    rows: list[Abbreviation]


class _Context:
    """Sentence bounds of one note, computed only when a context-dependent abbreviation needs them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._break_starts: list[int] | None = None
        self._break_ends: list[int] = []

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        if self._break_starts is None:
            breaks = [(m.start(), m.end()) for m in _SENTENCE_BREAK.finditer(self.text)]
            self._break_starts = [b[0] for b in breaks]
            self._break_ends = [b[1] for b in breaks]
        i = bisect.bisect_right(self._break_ends, start) - 1
        left = self._break_ends[i] if i >= 0 else 0
        j = bisect.bisect_left(self._break_starts, end)
        right = self._break_starts[j] if j < len(self._break_starts) else len(self.text)
        return left, right

    def window(self, start: int, end: int) -> tuple[list[re.Match[str]], list[re.Match[str]]]:
        """Up to CONTEXT_WINDOW words of the sentence before the abbreviation, and after it."""
        left, right = self.sentence(start, end)
        before = list(_WORD.finditer(self.text, max(left, start - 40 * CONTEXT_WINDOW), start))[-CONTEXT_WINDOW:]
        after: list[re.Match[str]] = []
        for match in _WORD.finditer(self.text, end, right):
            after.append(match)
            if len(after) == CONTEXT_WINDOW:
                break
        return before, after






def _nearest_cue(cand: _Candidate, matcher: _Matcher, context: _Context) -> tuple[Abbreviation, str] | None:
    """The meaning whose cue stands nearest the abbreviation, with the cue as written; None without a cue."""
    rows, index = matcher.cue_index[cand.rows[0].key]
    allowed = {id(row) for row in cand.rows}
    before, after = context.window(cand.start, cand.end)
    best: tuple[int, int, str] | None = None  # (distance, row order, cue as written)
    for matches, is_before in ((before, True), (after, False)):
        words = [_fold_word(m.group()) for m in matches]
        for i in range(len(words)):
            for order, length in index.cues_at(words, i):
                if id(rows[order]) not in allowed:
                    continue
                distance = len(words) - (i + length) if is_before else i
                if best is None or (distance, order) < best[:2]:
                    best = (distance, order, context.text[matches[i].start() : matches[i + length - 1].end()])
    return (rows[best[1]], best[2]) if best else None


def _in_url_or_code(text: str, start: int, end: int) -> bool:
    token_start, token_end = start, end
    while token_start > 0 and not text[token_start - 1].isspace() and start - token_start < 200:
        token_start -= 1
    while token_end < len(text) and not text[token_end].isspace() and token_end - end < 200:
        token_end += 1
    if token_end - token_start > end - start and _URL_LIKE.search(text[token_start:token_end]):
        return True
    if text[max(0, start - 2) : start] == ", " and _ZIP_CODE.match(text, end):
        return True
    if end + 1 < len(text) and text[end] in _GLUE_RIGHT and text[end + 1].isalnum():
        piece = _ALNUM_RUN.match(text, end + 1)
        if piece and any(ch.isdigit() for ch in piece.group()):
            return True
    if start >= 2 and text[start - 1] in _GLUE_LEFT and text[start - 2].isalnum():
        piece = _ALNUM_RUN_BACK.search(text, max(0, start - 41), start - 1)
        if piece and any(ch.isdigit() for ch in piece.group()):
            return True
    return False


def _holds_most(words: Sequence[str], text: str) -> bool:
    """More than half of ``words`` occur (as word starts) in ``text``."""
    folded = _fold(text)
    hits = sum(1 for word in words if re.search(r"(?<!\w)" + re.escape(word), folded))
    return hits * 2 > len(words)


def _written_out(text: str, start: int, end: int, row: Abbreviation, matcher: _Matcher) -> bool:
    """The meaning stands beside its abbreviation: "hypertension (HTN)", "diabetes tipo 2 (DM2)",
    "HTN (hypertension)"."""
    words = matcher.content_words[row]
    before = text[max(0, start - 3) : start].rstrip()
    after = text[end : end + 3].lstrip()
    if before.endswith(("(", "[")) and after.startswith((")", "]")):
        preceding = text[max(0, start - 80) : start].rstrip()[:-1]  # without this "("
        cut = max(preceding.rfind(c) for c in ".;\n([")  # the words since the clause or an earlier parenthesis
        return _holds_most(words, preceding[cut + 1 :])
    if after.startswith(("(", "[")):
        inside = text[end : end + len(row.expansion) + 40].lstrip()[1:]
        inside = re.split(r"[)\]]", inside, maxsplit=1)[0]
        return _holds_most(words, inside)
    return False


_FUNCTION_WORDS = frozenset("de del la las el los en y e a al con por para of the and in on to for with".split())


def _defines_other(text: str, start: int, end: int) -> bool:
    """A parenthesized abbreviation spelled by the initials of the words before it defines those words, whatever
    the list says: "magnetic resonance (MR)", "papillary diameters (PD)"."""
    before = text[max(0, start - 3) : start].rstrip()
    if not (before.endswith(("(", "[")) and text[end : end + 3].lstrip().startswith((")", "]"))):
        return False
    letters = [ch for ch in _fold(text[start:end]) if ch.isalpha()]
    preceding = text[max(0, start - 40 * max(1, len(letters))) : start].rstrip()[:-1]
    cut = max(preceding.rfind(c) for c in ".;\n([")
    words = [w for w in _WORD.findall(_fold(preceding[cut + 1 :])) if w.isalpha() and w not in _FUNCTION_WORDS]
    return len(words) >= len(letters) > 0 and [w[0] for w in words[-len(letters) :]] == letters


def find_abbreviations(text: str, language: str, entries: Iterable[Abbreviation] | None = None) -> list[Expansion]:
    """The abbreviations of ``text`` that can be written out, in order, with offsets into ``text``.

    ``entries`` replaces the language's curated list (``load_abbreviations``) when given."""
    matcher = _matcher(language, entries)
    candidates: list[_Candidate] = []
    for match in matcher.pattern.finditer(text):
        start, end = match.span()
        rows = matcher.rows_for(match.group())
        if not rows:  # refused (case, plural): a shorter abbreviation may still start here
            end, rows = _fallback(text, start, match.group(), matcher)
            if not rows:
                continue
        if not _in_url_or_code(text, start, end):
            candidates.append(_Candidate(start, end, rows))
    if not candidates:
        return []

    defined: dict[str, Abbreviation] = {}  # key -> the meaning a parenthesis in the note gave it
    kept: list[_Candidate] = []
    for cand in candidates:
        row = next((r for r in cand.rows if _written_out(text, cand.start, cand.end, r, matcher)), None)
        if row is None:
            if not _defines_other(text, cand.start, cand.end):
                kept.append(cand)
        elif row.context:
            defined.setdefault(row.key, row)

    context = _Context(text)
    expansions: list[Expansion] = []
    for cand in kept:
        chosen: Abbreviation | None = None
        cue = ""
        if any(row.context for row in cand.rows):
            hit = _nearest_cue(cand, matcher, context)
            if hit is not None:
                chosen, cue = hit
            elif defined.get(cand.rows[0].key) in cand.rows:
                chosen = defined[cand.rows[0].key]
                cue = chosen.expansion
        if chosen is None:
            chosen = next((row for row in cand.rows if not row.context), None)
            if chosen is None:
                continue
        expansions.append(Expansion(cand.start, cand.end, text[cand.start : cand.end], chosen.expansion, cue))
    return expansions


def _fallback(text: str, start: int, matched: str, matcher: _Matcher) -> tuple[int, list[Abbreviation]]:
    """A shorter abbreviation at the same place, when the longest one was refused ("DM ii" → "DM")."""
    longest = _lookup_key(matched)
    for key in matcher.shorter.get(longest[:1], ()):
        if len(key) >= len(longest) or not longest.startswith(key):
            continue
        m = matcher.single(key).match(text, start)
        if m is not None:
            rows = matcher.rows_for(m.group())
            if rows:
                return m.end(), rows
    return start, []


def _inserted_text(original: str, exp: Expansion) -> str:
    """The expansion as it goes into the text, with a space where it would touch a word ("w/CKD")."""
    inserted = exp.expansion
    if exp.end < len(original) and original[exp.end].isalnum() and inserted[-1:].isalnum():
        inserted += " "
    if exp.start > 0 and original[exp.start - 1].isalnum() and inserted[:1].isalnum():
        inserted = " " + inserted
    return inserted


def expand(text: str, language: str, entries: Iterable[Abbreviation] | None = None) -> ExpandedText:
    """``text`` with each abbreviation that ``find_abbreviations`` finds replaced by its expansion."""
    expansions = find_abbreviations(text, language, entries)
    pieces: list[str] = []
    position = 0
    for exp in expansions:
        pieces.append(text[position : exp.start])
        pieces.append(_inserted_text(text, exp))
        position = exp.end
    pieces.append(text[position:])
    return ExpandedText(text, "".join(pieces), expansions)


# -- offset maps ------------------------------------------------------------------------------------------------


def _check_span(start: int, end: int, length: int) -> None:
    if not 0 <= start <= end <= length:
        raise ValueError(f"span ({start}, {end}) is not within 0..{length}")


def _map_start(pos: int, src_starts: list[int], src_ends: list[int], dst_starts: list[int], dst_ends: list[int]) -> int:
    """A start offset: inside a replaced span it goes to the start of its replacement; elsewhere it shifts."""
    i = bisect.bisect_right(src_starts, pos) - 1
    if i < 0:
        return pos
    if pos < src_ends[i]:
        return dst_starts[i]
    return dst_ends[i] + (pos - src_ends[i])


def _map_end(pos: int, src_starts: list[int], src_ends: list[int], dst_starts: list[int], dst_ends: list[int]) -> int:
    """An end offset: inside a replaced span it goes to the end of its replacement; elsewhere it shifts."""
    i = bisect.bisect_left(src_ends, pos)
    if i < len(src_ends) and src_starts[i] < pos:
        return dst_ends[i]
    j = bisect.bisect_right(src_ends, pos) - 1
    if j < 0:
        return pos
    return dst_ends[j] + (pos - src_ends[j])


def unsettled_abbreviations(text: str, language: str, expanded: ExpandedText) -> set[tuple[int, int]]:
    """Spans of abbreviations whose meaning depends on context and that the context did not settle ("PE" with no
    cue): the dictionary must not read them as one of their meanings."""
    matcher = _matcher(language, None)
    settled = {(e.start, e.end) for e in expanded.expansions}
    found: set[tuple[int, int]] = set()
    for match in matcher.pattern.finditer(text):
        span = match.span()
        if span in settled:
            continue
        rows = matcher.rows_for(match.group())
        if rows and all(row.context for row in rows):
            found.add(span)
    return found
