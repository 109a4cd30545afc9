"""Dictionary mentions: the matches of the note's analysis that won their words, with their scored codes."""

from __future__ import annotations

from core.candidates.linker import DictionaryLinker
from core.nlp.analysis import NoteAnalysis, analyze
from core.schema import Mention, Span

MAX_CODES_PER_MENTION = 5


def dictionary_mentions(analysis: NoteAnalysis, linker: DictionaryLinker) -> list[Mention]:
    """One :class:`Mention` per winning dictionary match, its codes best first (calibrated scores)."""
    text = analysis.text
    mentions: list[Mention] = []
    for match in analysis.mentions:
        scored = linker.scored_codes(match.key)
        if not scored:
            continue
        mentions.append(Mention(
            span=Span(start=match.start, end=match.end, text=text[match.start : match.end]),
            source="dictionary:" + scored[0][2] + (":gapped" if match.gapped else ""),
            term=linker.rules[match.key].display,
            codes=[code for code, _, _ in scored[:MAX_CODES_PER_MENTION]],
            score=round(scored[0][1], 4),
            assertion=match.assertion,
            assertion_cue=match.cue,
        ))
    return mentions


def link(text: str, linker: DictionaryLinker) -> list[Mention]:
    """The dictionary mentions of ``text`` (analysing it first): a convenience for one-off lookups and tests."""
    return dictionary_mentions(analyze(text, linker.language, linker), linker)
