"""The reconciler's working list: every suggested code with its evidence, what the note says about that evidence, and
every change the convention rules make to it (added, promoted, absorbed, demoted), for the trace and the coder."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from core.kb.tabular import Tabular, normalize_code
from core.nlp.analysis import NoteAnalysis
from core.nlp.assertion import NOT_CODED
from core.nlp.sentences import SEMICOLON
from core.nlp.textnorm import term_key
from core.schema import CodeSuggestion, Span, copy_suggestion

if TYPE_CHECKING:
    from core.candidates.navigator import Condition

STEP = "conventions"  # the trace step of the deterministic reconciler (CLH's own LLM step is "reconciler")
# A negation and what it scopes over, up to the next punctuation: left out of the words a modifier is looked for in.
_NEGATED = re.compile(r"\b(?:without|w/o|no|not|denies|negative for|free of|sin|niega|no presenta)\b[^,.;:\n]*",
                      re.IGNORECASE)
NEGATED = _NEGATED
_RANGE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)|\.?-)?")


@dataclass
class Entry:
    suggestion: CodeSuggestion
    assertions: frozenset[str]  # of its evidence spans (present, negated, historical, family, ...)
    absorbed_by: str = ""  # the code that now stands for this one

    @property
    def code(self) -> str:
        return self.suggestion.code

    @property
    def coded(self) -> bool:
        return self.suggestion.status == "code" and not self.absorbed_by

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in self.suggestion.evidence]

    def only(self, *assertions: str) -> bool:
        return bool(self.assertions) and self.assertions <= set(assertions)


@dataclass
class Worklist:
    """Codes and candidates of one note, keyed by code, with the log of the rules' changes."""

    analysis: NoteAnalysis
    tabular: Tabular
    policy: str = "coding"
    entries: dict[str, Entry] = field(default_factory=dict)
    log: list[dict[str, str]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # codes in the order the strategy gave them
    misread: set[str] = field(default_factory=set)  # codes whose words say something else: no rule codes them again

    @classmethod
    def of(cls, codes: list[CodeSuggestion], candidates: list[CodeSuggestion], analysis: NoteAnalysis,
           tabular: Tabular, policy: str) -> Worklist:
        work = cls(analysis, tabular, policy)
        for suggestion in [*codes, *candidates]:
            if suggestion.code not in work.entries:
                copy = copy_suggestion(suggestion)
                if policy != "codiesp":
                    work.drop_uncodable_evidence(copy)
                work.entries[suggestion.code] = Entry(copy, work.assertions_of(copy))
                work.order.append(suggestion.code)
        return work

    def drop_uncodable_evidence(self, suggestion: CodeSuggestion) -> None:
        """A code with evidence the note affirms keeps only that evidence: "Madre con cáncer de mama" is the mother's
        condition, not more evidence of the patient's breast carcinoma (and so no second code of the category)."""
        kept = [s for s in suggestion.evidence if self.analysis.assertion_of(s.start, s.end)[0] not in NOT_CODED]
        if kept and len(kept) < len(suggestion.evidence):
            suggestion.evidence = kept

    # -- reading ----------------------------------------------------------------------------------------------------
    def assertions_of(self, suggestion: CodeSuggestion) -> frozenset[str]:
        return frozenset(self.analysis.assertion_of(s.start, s.end)[0] for s in suggestion.evidence)

    def coded(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.coded]

    def candidates(self) -> list[Entry]:
        return [e for e in self.entries.values() if not e.coded and not e.absorbed_by]

    def codable(self, entry: Entry) -> bool:
        """Some evidence the policy lets the app code (not only negated, family or hypothetical mentions)."""
        if self.policy == "codiesp":
            return True
        return any(a not in NOT_CODED for a in entry.assertions)

    def words_of(self, code: str) -> frozenset[str]:
        """Stems of a code's title, without what it says the condition is without ("... without complications")."""
        return title_words(self.tabular.description(code))

    def said(self, entry: Entry, affirmed: bool = False) -> frozenset[str]:
        """Stems of the note's own words for an entry (abbreviations written out); ``affirmed``: without what the words
        deny ("migraine (without aura" is no aura for the navigator)."""
        expanded = self.analysis.expanded
        words: set[str] = set()
        for start, end in entry.spans:
            low, high = expanded.to_expanded(start, end)
            written = expanded.text[low:high]
            words |= set(term_key(_NEGATED.sub(" ", written) if affirmed else written, self.analysis.language))
        return frozenset(words)

    @cached_property
    def _conditions(self) -> dict[str, Condition]:
        return {}

    def condition(self, entry: Entry) -> Condition:
        from core.candidates.navigator import Condition

        if entry.code not in self._conditions:
            said = self.said(entry, affirmed=True) if self.analysis.language == "en" else frozenset()
            self._conditions[entry.code] = Condition(entry.code, self.words_of(entry.code) | said,
                                                     tuple(entry.spans), said)
        return self._conditions[entry.code]

    def sentence_words(self, entry: Entry) -> frozenset[str]:
        """Stems of the sentences an entry's evidence is in, without what they negate ("without macular edema"); a
        sentence cut by semicolons gives the part the evidence is in ("dementia (no behavioral sx); also severe
        malnutrition": "severe" is not the dementia's)."""
        expanded = self.analysis.expanded
        words: set[str] = set()
        for start, end in entry.spans:
            left, right = self.analysis.sentences.clause_bounds(start, end, SEMICOLON)
            low, high = expanded.to_expanded(left, right)
            affirmed = _NEGATED.sub(" ", expanded.text[low:high])
            words |= set(term_key(affirmed, self.analysis.language))
        return frozenset(words)

    def same_sentence(self, a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> bool:
        """Some span of ``a`` and some span of ``b`` lie in one sentence."""
        bounds = {self.analysis.sentences.sentence_bounds(s, e) for s, e in a}
        return any(self.analysis.sentences.sentence_bounds(s, e) in bounds for s, e in b)

    def denied_text(self, entry: Entry) -> str:
        """What the sentences of an entry's evidence deny ("no perforation, no gangrene")."""
        parts: list[str] = []
        for start, end in entry.spans:
            left, right = self.analysis.sentences.sentence_bounds(start, end)
            parts += [found.group() for found in _NEGATED.finditer(self.analysis.text, left, right)]
        return " ".join(parts)

    def stated(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """The mentions of ``pattern`` the note states: present for the assertion reader, and no denial just before
        ("medically refractory", not "not intractable")."""
        text = self.analysis.text
        return (m for m in pattern.finditer(text)
                if not denied_at(text, m.start()) and self.analysis.assertion_of(m.start(), m.end())[0] == "present")

    def said_in(self, start: int, end: int) -> frozenset[str]:
        expanded = self.analysis.expanded
        low, high = expanded.to_expanded(start, end)
        return frozenset(term_key(expanded.text[low:high], self.analysis.language))

    # -- changing ---------------------------------------------------------------------------------------------------
    def record(self, action: str, code: str, rule: str, why: str, by: str = "") -> None:
        self.log.append({"action": action, "code": code, "by": by, "rule": rule, "why": why})

    def set_aside(self, code: str, rule: str) -> bool:
        """A rule left ``code`` for review ("tabular validator": no index or tabular entry links its words)."""
        return any(row["code"] == code and row["rule"] == rule and row["action"] == "not coded" for row in self.log)

    def absorb(self, code: str, by: str, rule: str, why: str) -> None:
        entry = self.entries.get(code)
        if entry is None or entry.absorbed_by or code == by:
            return
        entry.absorbed_by = by
        entry.suggestion.status = "candidate"
        entry.suggestion.rationale = f"{entry.suggestion.rationale}; absorbed by {by} ({rule}: {why})".lstrip("; ")
        self.record("absorbed", code, rule, why, by)

    def promote(self, code: str, rule: str, why: str) -> None:
        entry = self.entries[code]
        if entry.coded or code in self.misread:
            return
        entry.absorbed_by = ""
        entry.suggestion.status = "code"
        entry.suggestion.step = STEP
        entry.suggestion.rationale = f"{entry.suggestion.rationale}; coded by the reconciler ({rule}: {why})"
        self.record("coded", code, rule, why)

    def demote(self, code: str, rule: str, why: str, misread: bool = False) -> None:
        """``code`` is left for review; ``misread``: its words name another thing, and later rules leave it there."""
        entry = self.entries[code]
        if misread:
            self.misread.add(code)
        if not entry.coded:
            return
        entry.suggestion.status = "candidate"
        entry.suggestion.rationale = f"{entry.suggestion.rationale}; for review ({rule}: {why})"
        self.record("not coded", code, rule, why)

    def list_first(self, code: str) -> None:
        """``code`` is the encounter's first-listed code (a screening, aftercare, a pregnancy's chapter 15 code)."""
        if code in self.order:
            self.order.remove(code)
        self.order.insert(0, code)

    def add(self, code: str, evidence: list[Span], rule: str, why: str, score: float, source: str) -> Entry:
        """A code the rules derive (a combination, a history or status code): coded, with its evidence."""
        code = normalize_code(code)
        entry = self.entries.get(code)
        if entry is not None:
            spans = {(s.start, s.end) for s in entry.suggestion.evidence}
            entry.suggestion.evidence += [s for s in evidence if (s.start, s.end) not in spans]
            self.promote(code, rule, why)
            return entry
        suggestion = CodeSuggestion(code=code, description=self.tabular.description(code), evidence=evidence,
                                    source=source, score=round(score, 4), rationale=why, step=STEP, status="code")
        entry = self.entries[code] = Entry(suggestion, self.assertions_of(suggestion))
        self.record("added", code, rule, why)
        return entry


_DENIAL_BEFORE = re.compile(r"\b(?:no|not|denies|without|w/o|sin|niega|negative for|never)\b[^.;:\n]{0,30}$",
                            re.IGNORECASE)


def affirmed(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first mention of ``pattern`` in ``text`` that no denial just before it scopes over ("No hallucinations",
    "sin alucinaciones" are none)."""
    return next((m for m in pattern.finditer(text) if not denied_at(text, m.start())), None)


def title_end(text: str) -> int:
    """Where a note's first line (a report's title: "PRE-OP EVAL", "COLONOSCOPY REPORT") ends."""
    return text.find("\n") if "\n" in text else len(text)


def in_language(patterns: dict[str, re.Pattern[str]], work: Worklist) -> re.Match[str] | None:
    """The first match in the note of the pattern written for its language (None without one)."""
    pattern = patterns.get(work.analysis.language)
    return pattern.search(work.analysis.text) if pattern else None


def denied_at(text: str, start: int) -> bool:
    return _DENIAL_BEFORE.search(text, max(0, start - 40), start) is not None


def block_of(code: str, tabular: Tabular) -> str:
    """The block of the tabular list a code is in ("H25-H28"), or ""."""
    return next((a for a in tabular.ancestors(code) if "-" in a), "")


@lru_cache(maxsize=65536)
def title_words(title: str) -> frozenset[str]:
    """Stems of a code title up to its "without ..." (titles never change: computed once each)."""
    return frozenset(term_key(re.split(r"\bwithout\b", title.lower())[0], "en"))


def covers(reference: tuple[str, str], code: str) -> bool:
    """An instructional-note reference (a code, a category with "-", or a range "N18.1-N18.4") covers ``code``."""
    first, last = reference
    code = normalize_code(code)
    if not last:
        return code.startswith(first)
    return first <= code[: len(first)] and code[: len(last)] <= last


def references(lines: list[str]) -> list[tuple[str, str]]:
    """Codes and ranges named in instructional notes: ("B95", "B97") for "B95-B97", ("I50", "") for "I50.-"."""
    found: list[tuple[str, str]] = []
    for text in lines:
        for match in _RANGE.finditer(text):
            item = (normalize_code(match.group(1)), normalize_code(match.group(2)) if match.group(2) else "")
            if item not in found:
                found.append(item)
    return found


def excluded_by(code: str, other: str, tabular: Tabular) -> bool:
    """``other``'s Excludes1 note names ``code`` (the condition is coded there instead)."""
    return any(covers(ref, code) for ref in references(tabular.inherited_notes(other).excludes1))
