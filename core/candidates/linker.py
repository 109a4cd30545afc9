"""Dictionary linker: exact (normalised, order-insensitive) matching of known terms, longest match wins.

Every rule maps a term key to candidate codes with their sources. Statistics fitted on coded notes turn
those into calibrated scores: for a (term, code) pair, the share of coded notes containing the term in
which the code was assigned (leave-one-out for terms learned from the same notes, smoothed towards a
prior per source). The same statistics complete an index/tabular code to the specific code coders used
in the same category ("what train codes teach").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from copy import copy as shallow_copy
from dataclasses import dataclass, field
from typing import Any

from core.kb.bilingual import OpenSetTranslation, WordLexicon
from core.kb.neoplasm import NEOPLASM_SOURCE
from core.kb.terms import SEE_SOURCE, TRANSLATED_SOURCE, TermEntry
from core.nlp.textnorm import Token, term_key, tokenize

MAX_KEY_TOKENS = 10
SMOOTHING = 2.0
SOURCE_PRIOR = {"learned": 0.8, "codiesp": 0.6, "cie10es-user": 0.45, "index": 0.35, "neoplasm-table": 0.35,
                SEE_SOURCE: 0.3, "tabular": 0.3, "cie-who-es": 0.3, TRANSLATED_SOURCE: 0.25}
# Without coded notes to fit statistics (a machine without CodiEsp), an exact match of an official term scores this,
# above the default code threshold (0.4): the coder gets codes to review, and the notices say scores are uncalibrated.
UNCALIBRATED_PRIORS = {"index": 0.5, "neoplasm-table": 0.5, "starter": 0.5, "tabular": 0.45, "cie-who-es": 0.45}
OTHER_WORD = "other"
OTHER_SUFFIX = "-other"  # an official term whose "Other" was dropped with the fillers (scored as its source)
FOREIGN = "@en"  # key prefix of English terms reached through word translation (open-set path of a Spanish linker)
MAX_FOREIGN_TOKENS = 4
MAX_VARIANTS = 4
MAX_PART_TOKENS = 3  # each half of a split term (behaviour words, site words)
MAX_SPLIT_GAP = 5  # content words allowed between the halves
_BARRIER = re.compile(r"[.;:\n()\[\]]")
NEGATION_STEMS = {"no", "not", "without", "sin", "non", "nor", "ni"}
_DENIED_INSIDE = re.compile(r"\b(?:no|not|without|w/o|denies|negative|sin|niega)\b", re.IGNORECASE)


def _apart(text: str, first: Token, second: Token) -> bool:
    """Sentence punctuation between two words: no term is matched across it."""
    return bool(_BARRIER.search(text, first.end, second.start))


def _listed(stems: list[str], cut: int, rules: Any) -> bool:
    """The words on each side of a comma are terms of their own: a list ("dry cough, headache"), not one term
    written inverted ("Headache, cough")."""
    return tuple(sorted(stems[:cut])) in rules and tuple(sorted(stems[cut:])) in rules


def source_prior(source: str) -> float:
    source = source.removesuffix(OTHER_SUFFIX)
    return SOURCE_PRIOR.get(source.split("-")[0] if source.startswith("codiesp") else source, 0.3)


@dataclass(slots=True)
class LinkRule:
    key: tuple[str, ...]
    display: str
    codes: dict[str, set[str]] = field(default_factory=dict)  # code -> sources
    cases: dict[str, set[str]] = field(default_factory=dict)  # code -> annotated case ids (for leave-one-out)


@dataclass(slots=True)
class RawMatch:
    start: int
    end: int
    key: tuple[str, ...]
    gapped: bool = False  # matched with one extra word inside the span
    shadowed: bool = False  # overlaps a longer match that won (returned only on request)


@dataclass
class CodeStats:
    """Per (key, code): how often the code was assigned in notes where the key appears."""

    docs: dict[tuple[str, ...], int] = field(default_factory=dict)
    hits: dict[tuple[tuple[str, ...], str], int] = field(default_factory=dict)
    remaps: dict[tuple[str, ...], dict[str, int]] = field(default_factory=dict)  # codes learned beyond the rule
    fitted_on: list[str] = field(default_factory=list)


class _RulesWithout:
    """Membership view of a linker's rules minus those known only from some notes' annotations."""

    def __init__(self, linker: DictionaryLinker, cases: Collection[str]) -> None:
        self.linker, self.cases = linker, set(cases)

    def __contains__(self, key: object) -> bool:
        return key in self.linker.rules and bool(self.linker.codes_without(key, self.cases))  # type: ignore[arg-type]


class DictionaryLinker:
    def __init__(self, language: str, entries: Iterable[TermEntry], *, cache_key: str = "") -> None:
        self.language = language
        self.rules: dict[tuple[str, ...], LinkRule] = {}
        self.stats = CodeStats()
        self.source_counts: Counter[str] = Counter()
        # What built this linker (its terms and matching code), given by whoever builds it: a ranker trained on another
        # linker's candidates is stale. Empty for a linker built by hand (tests, tools).
        self.cache_key = cache_key
        self.translation: OpenSetTranslation | None = None
        self.priors: dict[str, float] = {}  # source → prior, replacing SOURCE_PRIOR (set when nothing is fitted)
        self.split_keys: set[tuple[str, ...]] = set()  # terms that may be written apart (Neoplasm Table terms)
        self.split_words: set[str] = set()  # every word of those terms
        for entry in entries:
            self.add(entry)

    def add(self, entry: TermEntry) -> None:
        official = entry.source in ("tabular", "index", SEE_SOURCE)
        key = term_key(entry.text, self.language, drop_fillers=official)
        if not key or len(key) > MAX_KEY_TOKENS or (len(key) == 1 and len(key[0]) < 3):
            return
        if official and OTHER_WORD in term_key(entry.text, self.language):
            # "Other specified fever" shares the key "fever" with "Fever, unspecified" once fillers are dropped;
            # the source says so, so that uncalibrated scores prefer the title that means the bare word.
            entry = TermEntry(entry.text, entry.code, entry.source + OTHER_SUFFIX, entry.case_id)
        rule = self.rules.get(key)
        if rule is None:
            rule = self.rules[key] = LinkRule(key=key, display=entry.text)
        rule.codes.setdefault(entry.code, set()).add(entry.source)
        if entry.case_id:
            rule.cases.setdefault(entry.code, set()).add(entry.case_id)
        if entry.source == NEOPLASM_SOURCE and len(key) > 1:
            self.split_keys.add(key)
            self.split_words.update(key)
        self.source_counts[entry.source] += 1

    def add_translated(self, entries: Iterable[TermEntry], lexicon: WordLexicon) -> None:
        """Make English terms reachable from this linker's (Spanish) notes through word translation.

        They are matched only on text no other rule matched, so they add codes no Spanish term knows about
        without displacing the annotated terms.
        """
        keys: list[tuple[tuple[str, ...], TermEntry]] = []
        for entry in entries:
            key = term_key(entry.text, "en", drop_fillers=True)
            if key and len(key) <= MAX_FOREIGN_TOKENS and (len(key) > 1 or len(key[0]) >= 4):
                keys.append((key, entry))
        self.translation = OpenSetTranslation.build(lexicon, (key for key, _ in keys))
        for key, entry in keys:
            foreign = (FOREIGN, *key)
            rule = self.rules.get(foreign)
            if rule is None:
                rule = self.rules[foreign] = LinkRule(key=foreign, display=entry.text)
            rule.codes.setdefault(entry.code, set()).add(TRANSLATED_SOURCE)
            self.source_counts[TRANSLATED_SOURCE] += 1

    def complete_codes(self, is_billable: Callable[[str], bool], complete: Callable[[str], str]) -> None:
        """Replace every non-billable code of the rules with the billable code ``complete`` gives (its
        unspecified descendant), keeping its sources; codes with no such descendant stay."""
        for rule in self.rules.values():
            for code in [c for c in rule.codes if not is_billable(c)]:
                target = complete(code)
                if target and target != code:
                    rule.codes.setdefault(target, set()).update(rule.codes.pop(code))

    def copy(self, **replaced: Any) -> DictionaryLinker:
        """A shallow copy sharing every attribute but the ones ``replaced`` names (``rules``, ``stats``, ...): the
        derived linkers below never change this one, which may be cached and shared."""
        unknown = set(replaced) - set(vars(self))
        if unknown:
            raise AttributeError(f"DictionaryLinker has no attribute {', '.join(sorted(unknown))}")
        clone = shallow_copy(self)
        for name, value in replaced.items():
            setattr(clone, name, value)
        return clone

    def with_terms(self, entries: Iterable[TermEntry]) -> DictionaryLinker:
        """A copy with extra (e.g. learned) terms; this linker, which may be cached and shared, is unchanged."""
        clone = self.copy(rules=dict(self.rules), source_counts=Counter(self.source_counts))
        for entry in entries:
            key = term_key(entry.text, self.language)
            if key in clone.rules and clone.rules[key] is self.rules.get(key):
                old = clone.rules[key]
                clone.rules[key] = LinkRule(key, old.display, {c: set(s) for c, s in old.codes.items()},
                                            {c: set(s) for c, s in old.cases.items()})
            clone.add(entry)
        return clone

    # -- matching ---------------------------------------------------------------------------------
    def _known_stems(self) -> frozenset[str]:
        """Every word of every rule's key, for the current rules (computed again when rules are added)."""
        cached = getattr(self, "_known", None)
        if cached is None or cached[0] is not self.rules or cached[1] != len(self.rules):
            cached = self._known = (self.rules, len(self.rules), frozenset(w for key in self.rules for w in key))
        return cached[2]

    def find(
        self, text: str, tokens: list[Token] | None = None, *, shadowed: bool = False,
        exclude_cases: Collection[str] = (),
    ) -> list[RawMatch]:
        """All non-overlapping matches, longest first, word-bounded, not crossing sentence punctuation.

        ``shadowed`` also returns the exact matches that lost to an overlapping longer one ("abdomen distendido"
        inside "abdomen distendido y doloroso"): coders often code both, and the ranker decides.
        ``exclude_cases`` ignores rules known only from those notes' annotations (fitting on a note must see the
        matches a new note would get, not its own spans shadowing shorter terms).
        """
        tokens = tokens if tokens is not None else tokenize(text, self.language)
        content = [t for t in tokens if not t.is_stop]
        rules = self.rules
        if exclude_cases:
            rules = _RulesWithout(self, exclude_cases)
        found: list[tuple[int, int, tuple[str, ...], bool]] = []
        # What lies between each content word and the one before it, read once: sentence punctuation, a comma.
        apart = [False, *(_apart(text, content[k - 1], content[k]) for k in range(1, len(content)))]
        comma = [False, *("," in text[content[k - 1].end:content[k].start] for k in range(1, len(content)))]
        known = self._known_stems()
        for i in range(len(content)):
            stems: list[str] = []
            commas: list[int] = []
            unknown: list[int] = []  # positions of words no rule has
            for j in range(i, min(len(content), i + MAX_KEY_TOKENS)):
                if j > i and apart[j]:
                    break
                if j > i and comma[j]:
                    commas.append(j - i)
                stems.append(content[j].stem)
                if content[j].stem not in known:
                    unknown.append(j - i)
                    if len(unknown) > 1:
                        break  # no term, even with one extra word, has two words no term has
                key = tuple(sorted(stems))
                if not unknown and key in rules:
                    if not any(_listed(stems, cut, rules) for cut in commas):
                        found.append((i, j, key, False))
                elif len(stems) >= 3:
                    # One extra word inside a known term ("masa [inguinal] derecha") still matches.
                    for skip in unknown or range(1, len(stems) - 1):
                        if not 0 < skip < len(stems) - 1 or stems[skip] in NEGATION_STEMS:
                            continue  # "esophagitis, [no] bleeding" is not "esophagitis with bleeding"
                        at = key.index(stems[skip])  # the key without that word: still sorted
                        gapped = key[:at] + key[at + 1:]
                        if gapped in rules:
                            found.append((i, j, gapped, True))
                            break
        # Longest first, counting the words a match names (a gapped one skips one); an exact match beats a gapped
        # one of the same length ("atrial fibrillation [with] rapid ventricular" is not "fibrillation, ventricular").
        found.sort(key=lambda m: (-(m[1] - m[0]) + 1.5 * m[3], m[0]))
        taken: set[int] = set()
        matches: list[RawMatch] = []
        ranges: list[tuple[int, int]] = []  # content-token range of each match
        losers: list[RawMatch] = []
        for i, j, key, gapped in found:
            if taken.isdisjoint(range(i, j + 1)):
                taken.update(range(i, j + 1))
                matches.append(RawMatch(content[i].start, content[j].end, key, gapped))
                ranges.append((i, j))
            elif shadowed and not gapped:
                losers.append(RawMatch(content[i].start, content[j].end, key, shadowed=True))
        translated: list[RawMatch] = []
        if self.translation is not None:
            # Only the ranker (``shadowed``) weighs an English term against the shorter Spanish ones it contains;
            # otherwise the terms coders used keep their words.
            translated, beaten = self._translated_matches(self.translation, text, content, ranges,
                                                          contain=shadowed)
            for number in sorted(beaten, reverse=True):  # a longer English term won these words
                loser = matches.pop(number)
                if shadowed:
                    losers.append(RawMatch(loser.start, loser.end, loser.key, loser.gapped, shadowed=True))
        matches.extend(losers)
        if self.split_keys:
            matches.extend(self._split_matches(text, content, {m.key for m in matches}))
        matches.extend(translated)
        return sorted(matches, key=lambda m: m.start)

    def _split_matches(self, text: str, content: list[Token], known: set[tuple[str, ...]]) -> list[RawMatch]:
        """Terms written in two parts with a few words between, in one clause: "carcinoma de células escamosas
        que afectaba al borde lingual" is a (behaviour, site) pair of the Neoplasm Table. They may overlap other
        matches (the behaviour word alone is often a term too); the ranker weighs them."""
        found: list[tuple[int, int, tuple[str, ...]]] = []
        n = len(content)
        useful = [t.stem in self.split_words for t in content]  # a part is made of words some split term has

        def apart(a: int, b: int) -> bool:
            return _apart(text, content[a], content[b])

        for i in range(n):
            for j in range(i, min(n, i + MAX_PART_TOKENS)):
                if not useful[j] or (j > i and apart(j - 1, j)):
                    break
                if j + 1 >= n or apart(j, j + 1):
                    continue
                first = [t.stem for t in content[i : j + 1]]
                for k in range(j + 2, min(n, j + 2 + MAX_SPLIT_GAP)):
                    if apart(k - 1, k) or _DENIED_INSIDE.search(text, content[j].end, content[k].start):
                        break  # a clause boundary, or a denial ("chest wall, no masses" is no chest mass)
                    for m in range(k, min(n, k + MAX_PART_TOKENS)):
                        if not useful[m] or (m > k and apart(m - 1, m)):
                            break
                        key = tuple(sorted(first + [t.stem for t in content[k : m + 1]]))
                        if key in self.split_keys and key not in known:
                            found.append((i, m, key))
        # The most words first; a word that starts or ends one split term starts or ends no other.
        found.sort(key=lambda f: (-len(f[2]), f[1] - f[0], f[0]))
        used: set[int] = set()
        matches = []
        for i, m, key in found:
            words = {i, m}
            if used.isdisjoint(words):
                used.update(words)
                matches.append(RawMatch(content[i].start, content[m].end, key, gapped=True))
        return matches

    def _translated_matches(
        self, translation: OpenSetTranslation, text: str, content: list[Token], ranges: list[tuple[int, int]],
        *, contain: bool = True,
    ) -> tuple[list[RawMatch], set[int]]:
        """Matches of English terms, longest first, and the numbers of the (Spanish) matches they beat.

        An English term takes words no other rule took, or (``contain``) words of shorter matches it contains
        entirely ("absceso pulmonar" is "abscess, lung", not the skin abscess of "absceso" alone).
        """
        owner = {token: number for number, (i, j) in enumerate(ranges) for token in range(i, j + 1)}
        # Without ``contain`` a taken word ends every window (and is not looked up at all): the dictionary path and
        # fitting, which run on every note, do no work for English terms that could not win.
        english = [() if not contain and k in owner else translation.english(t.stem) for k, t in enumerate(content)]
        found: list[tuple[int, int, tuple[str, ...]]] = []
        for i in range(len(content)):
            variants: list[tuple[str, ...]] = [()]
            for j in range(i, min(len(content), i + MAX_FOREIGN_TOKENS)):
                if not english[j] or (j > i and _apart(text, content[j - 1], content[j])):
                    break
                variants = [(*v, word) for v in variants for word in english[j]][:MAX_VARIANTS]
                for variant in variants:
                    key = (FOREIGN, *sorted(set(variant)))
                    if key in self.rules:
                        found.append((i, j, key))
                        break
        found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
        used: set[int] = set()
        matches: list[RawMatch] = []
        beaten: set[int] = set()
        for i, j, key in found:
            if not used.isdisjoint(range(i, j + 1)):
                continue
            overlapped = {owner[t] for t in range(i, j + 1) if t in owner}  # empty without ``contain``
            if any(not (i <= ranges[n][0] and ranges[n][1] <= j and ranges[n][1] - ranges[n][0] < j - i)
                   for n in overlapped):
                continue
            used.update(range(i, j + 1))
            beaten |= overlapped
            matches.append(RawMatch(content[i].start, content[j].end, key))
        return matches, beaten

    # -- scoring ----------------------------------------------------------------------------------
    def candidate_codes(self, key: tuple[str, ...], exclude_cases: Collection[str] = ()) -> dict[str, set[str]]:
        rule = self.rules[key]
        out: dict[str, set[str]] = {}
        for code, sources in rule.codes.items():
            annotated = {s for s in sources if s.startswith("codiesp")}
            if exclude_cases and annotated and not rule.cases.get(code, set()).difference(exclude_cases):
                # Annotated only in the excluded notes: the annotation is hidden, an index/tabular source stays.
                sources = sources - annotated
                if not sources:
                    continue
            out[code] = sources
        return out

    def scored_codes(self, key: tuple[str, ...]) -> list[tuple[str, float, str]]:
        """(code, calibrated score, provenance) best first."""
        n = self.stats.docs.get(key, 0)
        scored: dict[str, tuple[float, str]] = {}
        overrides = getattr(self, "priors", {})  # linkers pickled before the attribute existed
        for code, sources in self.rules[key].codes.items():
            prior = max(overrides.get(s, source_prior(s)) for s in sources)
            hits = self.stats.hits.get((key, code), 0)
            scored[code] = ((hits + SMOOTHING * prior) / (n + SMOOTHING), "+".join(sorted(sources)))
        for code, hits in self.stats.remaps.get(key, {}).items():
            scored.setdefault(code, (hits / (n + SMOOTHING), "learned-from-coded-notes"))
        return sorted(((c, s, p) for c, (s, p) in scored.items()), key=lambda x: (-x[1], x[0]))

    def without_cases(self, cases: Collection[str]) -> DictionaryLinker:
        """A copy as if the annotations of ``cases`` had never been read (out-of-fold training): their codes lose
        the annotation source, and rules left without codes are gone, so they cannot shadow shorter matches."""
        clone = self.copy(rules={})
        hidden = set(cases)
        for key, rule in self.rules.items():
            codes = self.codes_without(key, hidden)
            if codes is rule.codes:
                clone.rules[key] = rule
            elif codes:
                clone.rules[key] = LinkRule(key, rule.display, codes,
                                            {c: rule.cases.get(c, set()) - hidden for c in codes})
        return clone

    def codes_without(self, key: tuple[str, ...], hidden: set[str]) -> dict[str, set[str]]:
        """The rule's codes as if ``hidden`` notes' annotations had never been read (the rule's own dict when
        none of them annotated it)."""
        rule = self.rules[key]
        if not any(rule.cases.get(code, set()) & hidden for code in rule.codes):
            return rule.codes
        return self.candidate_codes(key, exclude_cases=hidden)

    def refitted(self, notes: list[tuple[str, str, set[str]]], label: str) -> DictionaryLinker:
        """A copy sharing the rules, with statistics fitted on other notes (out-of-fold features)."""
        clone = self.copy(stats=CodeStats())
        clone.fit(notes, label)
        return clone

    def key_counts(self, key: tuple[str, ...]) -> int:
        return self.stats.docs.get(key, 0)

    def fit(self, notes: Iterable[tuple[str, str, set[str]]], label: str) -> None:
        """Fit scores on coded notes: (case id, text, gold codes dotted upper-case)."""
        docs: Counter[tuple[str, ...]] = Counter()
        hits: Counter[tuple[tuple[str, ...], str]] = Counter()
        for case_id, text, gold in notes:
            gold_categories = {g[:3] for g in gold}
            seen: set[tuple[str, ...]] = set()
            for match in self.find(text, exclude_cases=(case_id,)):
                if match.key in seen:
                    continue
                codes = self.candidate_codes(match.key, exclude_cases=(case_id,))
                if not codes:
                    continue
                seen.add(match.key)
                docs[match.key] += 1
                categories = {c[:3] for c in codes}
                for code in set(codes) | {g for g in gold if g[:3] in categories & gold_categories}:
                    if code in gold:
                        hits[(match.key, code)] += 1
        remaps: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
        for (key, code), count in hits.items():
            if code not in self.rules[key].codes:
                remaps[key][code] = count
        self.stats = CodeStats(docs=dict(docs), hits=dict(hits), remaps=dict(remaps),
                               fitted_on=[*self.stats.fitted_on, label])
