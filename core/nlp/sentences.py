"""Sentence boundaries of a clinical note, from spaCy's rule-based sentencizer on a blank language pipeline.

spaCy's tokenizer knows each language's abbreviations and keeps decimals whole, so "Dr. Pérez", "p. ej.", "aprox."
or "3.5 mg" do not end a sentence the way a plain "." split does. Notes are also cut at line breaks first: a
heading, a list item or a line of a lab table is a unit of its own. Blank pipelines ship inside the spaCy wheel
(no model download); a language spaCy lacks falls back to the multi-language tokenizer.

The assertion rules want shorter units (a negation cue should not reach past "; " or ": "), so ``clause_bounds``
also cuts at semicolons and colons.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

_LINE_BREAK = re.compile(r"\n")
_CLAUSE_BREAK = re.compile(r"[;:]")
SEMICOLON = re.compile(";")  # the parts of a list the conventions read apart ("POAG OS, mild; OD no damage")
SPACY_LANGUAGES = {"en", "es", "el"}


@lru_cache(maxsize=8)
def sentencizer(language: str) -> Language:
    import spacy

    nlp = spacy.blank(language if language in SPACY_LANGUAGES else "xx")
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, in order, covering every non-blank character of ``text``."""
    nlp = sentencizer(language)
    spans: list[tuple[int, int]] = []
    line_start = 0
    for match in [*_LINE_BREAK.finditer(text), None]:
        line_end = match.start() if match else len(text)
        line = text[line_start:line_end]
        if line.strip():
            for sent in nlp(line).sents:
                start, end = line_start + sent.start_char, line_start + sent.end_char
                if text[start:end].strip():
                    spans.append((start, end))
        line_start = line_end + 1
    return spans


class SentenceIndex:
    """The sentence (or clause) around any character offset of one note, found by bisection."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.spans = sentence_spans(text, language)
        self._starts = [start for start, _ in self.spans]
        self._bounds: dict[tuple[int, int], tuple[int, int]] = {}  # the rules ask for the same spans many times

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        """The sentence holding ``[start, end)``; a mention across a boundary gets both sentences."""
        found = self._bounds.get((start, end))
        if found is None:
            found = self._bounds[start, end] = self._sentence_bounds(start, end)
        return found

    def next_sentence(self, end: int) -> tuple[int, int] | None:
        """The sentence after the one ending at ``end`` (from the next non-space character), or None at the note's end:
        what a note says right after a statement ("L heel ulcer. Bed with fat exposed.")."""
        start = end
        while start < len(self.text) and self.text[start].isspace():
            start += 1
        return self.sentence_bounds(start, start + 1) if start < len(self.text) else None

    def _sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        if not self.spans:
            return 0, len(self.text)
        first = max(0, bisect.bisect_right(self._starts, start) - 1)
        last = max(first, bisect.bisect_right(self._starts, max(start, end - 1)) - 1)
        return self.spans[first][0], self.spans[last][1]

    def clause_bounds(self, start: int, end: int, breaks: re.Pattern[str] = _CLAUSE_BREAK) -> tuple[int, int]:
        """The sentence, further cut at ";" and ":" (or ``breaks``) around the mention."""
        left, right = self.sentence_bounds(start, end)
        left = max((m.end() for m in breaks.finditer(self.text, left, start)), default=left)
        after = breaks.search(self.text, end, right)
        return left, after.start() if after else right

    def around(self, start: int, end: int, max_chars: int = 240) -> str:
        """The sentence holding a mention, single-spaced, trimmed to about ``max_chars`` around it."""
        left, right = self.sentence_bounds(start, end)
        left = max(left, start - max_chars // 2)
        right = min(right, end + max_chars // 2)
        return " ".join(self.text[left:right].split())

    def chunks(self, max_chars: int) -> list[tuple[int, int]]:
        """Consecutive sentences grouped into pieces of at most ``max_chars`` (a longer sentence is cut)."""
        pieces: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        for start, end in self.spans:
            while end - start > max_chars:  # one over-long sentence (a run-on list): cut at a space if possible
                if current:
                    pieces.append(current)
                    current = None
                cut = self.text.rfind(" ", start + max_chars // 2, start + max_chars)
                cut = cut if cut > start else start + max_chars
                pieces.append((start, cut))
                start = cut
                while start < end and self.text[start].isspace():
                    start += 1
            if start >= end:
                continue
            if current and end - current[0] <= max_chars:
                current = (current[0], end)
            else:
                if current:
                    pieces.append(current)
                current = (start, end)
        if current:
            pieces.append(current)
        return pieces
