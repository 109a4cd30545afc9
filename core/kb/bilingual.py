"""Spanish → English evidence projection over CodiEsp's sentence-aligned machine translations.

CodiEsp annotates evidence spans in the Spanish text only; ``text_files_en`` holds a machine translation with one
line per Spanish sentence and no spans. To give the English pipeline terms coders actually used, each Spanish
sentence is aligned to its English line(s) (dynamic programming over length and shared anchors: numbers, word
prefixes), a word lexicon is learned from the aligned pairs (Dice co-occurrence, plus spelling similarity for
cognates such as "brucelosis"/"brucellosis"), and every Spanish evidence span is mapped to the shortest English
window covering the translations of its words ("distensión abdominal" → "abdominal distension").

The same lexicon, plus a spelling skeleton shared by cognates (``skeleton``), is the Spanish open-set path without
an LLM: ``OpenSetTranslation`` maps the words of a Spanish note that no Spanish term matched to English stems, so the
linker can reach English index and tabular terms (codes no Spanish annotation ever used).

Only the splits asked for are read, so dev/test text never teaches the dictionary that is evaluated on them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from core.datasets.codiesp import CodiEsp
from core.kb.tabular import normalize_code
from core.kb.terms import TermEntry
from core.nlp.textnorm import Token, tokenize

# Finer than the translation's sentence split on purpose: the alignment merges pieces (2-1, 3-1), never splits them.
_SENTENCE = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.MULTILINE)
# (Spanish sentences, English lines, penalty): 1-1 is free, merges and gaps cost.
_MOVES = ((1, 1, 0.0), (2, 1, 0.3), (3, 1, 0.6), (1, 2, 0.3), (2, 2, 0.6), (1, 0, 1.0), (0, 1, 1.0))
MIN_COOCCURRENCE = 2
MIN_WORD_SCORE = 0.3
MIN_COGNATE = 0.75


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def content_tokens(text: str, language: str) -> list[Token]:
    return [t for t in tokenize(text, language) if not t.is_stop]


def _anchors(tokens: list[Token]) -> set[str]:
    return {t.norm if t.norm.isdigit() else t.norm[:5] for t in tokens if t.norm.isdigit() or len(t.norm) >= 5}


@dataclass(frozen=True, slots=True)
class SentencePair:
    start: int  # Spanish character range covered by the aligned sentences
    end: int
    en_lines: tuple[int, ...]


def align_sentences(es_text: str, en_lines: list[str]) -> list[SentencePair]:
    """Monotonic alignment of Spanish sentences to English lines (Gale–Church style, with anchor overlap)."""
    es_bounds = sentence_bounds(es_text)
    es_anchors = [_anchors(content_tokens(es_text[a:b], "es")) for a, b in es_bounds]
    en_anchors = [_anchors(content_tokens(line, "en")) for line in en_lines]
    es_len = [b - a for a, b in es_bounds]
    en_len = [len(line) for line in en_lines]
    n, m = len(es_bounds), len(en_lines)
    cost = [[math.inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if cost[i][j] == math.inf:
                continue
            for di, dj, penalty in _MOVES:
                ii, jj = i + di, j + dj
                if ii > n or jj > m:
                    continue
                step = penalty
                if di and dj:
                    left, right = set().union(*es_anchors[i:ii]), set().union(*en_anchors[j:jj])
                    ratio = abs(math.log((sum(es_len[i:ii]) + 10) / (1.05 * sum(en_len[j:jj]) + 10)))
                    step += 2 * ratio - 2 * len(left & right) / max(1, min(len(left), len(right)))
                if cost[i][j] + step < cost[ii][jj]:
                    cost[ii][jj] = cost[i][j] + step
                    back[ii][jj] = (i, j)
    pairs: list[SentencePair] = []
    i, j = n, m
    while (i, j) != (0, 0):
        previous = back[i][j]
        if previous is None:  # unreachable: (0, 1) and (1, 0) moves connect every cell
            break
        pi, pj = previous
        if i > pi and j > pj:
            pairs.append(SentencePair(es_bounds[pi][0], es_bounds[i - 1][1], tuple(range(pj, j))))
        i, j = pi, pj
    return pairs[::-1]


@dataclass
class WordLexicon:
    """Spanish stem → English stem association learned from aligned sentence pairs."""

    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    es_counts: Counter[str] = field(default_factory=Counter)
    en_counts: Counter[str] = field(default_factory=Counter)
    _cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def add(self, es_stems: set[str], en_stems: set[str]) -> None:
        self.es_counts.update(es_stems)
        self.en_counts.update(en_stems)
        self.pairs.update((x, y) for x in es_stems for y in en_stems)

    def dice(self, es_stem: str, en_stem: str) -> float:
        """Dice co-occurrence over aligned pairs; 0 below ``MIN_COOCCURRENCE`` pairs."""
        together = self.pairs.get((es_stem, en_stem), 0)
        if together < MIN_COOCCURRENCE:
            return 0.0
        return 2 * together / (self.es_counts[es_stem] + self.en_counts[en_stem])

    def score(self, es_stem: str, en_stem: str) -> float:
        key = (es_stem, en_stem)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        dice = self.dice(es_stem, en_stem)
        if es_stem == en_stem:
            cognate = 1.0
        elif min(len(es_stem), len(en_stem)) < 4:
            cognate = 0.0
        else:
            cognate = SequenceMatcher(None, es_stem, en_stem).ratio()
        value = max(dice, cognate if cognate >= MIN_COGNATE else 0.0)
        self._cache[key] = value
        return value


@dataclass(frozen=True, slots=True)
class AlignedCase:
    case_id: str
    es_text: str
    en_lines: list[str]
    pairs: list[SentencePair]


def project_span(es_text: str, start: int, end: int, en_line: str, lexicon: WordLexicon) -> str | None:
    """The English window of ``en_line`` translating ``es_text[start:end]``, or None when too few words match."""
    es_tokens = content_tokens(es_text[start:end], "es")
    en_tokens = content_tokens(en_line, "en")
    if not es_tokens or not en_tokens:
        return None
    # Greedy one-to-one assignment, best word pairs first, so two Spanish words tied on the same English
    # words ("dolor torácico" / "chest pain") take one each.
    scored = sorted(
        ((lexicon.score(x.stem, y.stem), i, k) for i, x in enumerate(es_tokens) for k, y in enumerate(en_tokens)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_es: set[int] = set()
    positions: list[int] = []
    for score, i, k in scored:
        if score < MIN_WORD_SCORE:
            break
        if i not in used_es and k not in positions:
            used_es.add(i)
            positions.append(k)
    if not positions or 2 * len(positions) < len(es_tokens):
        return None
    first, last = min(positions), max(positions)
    if last - first + 1 > 2 * len(es_tokens) + 2:
        return None
    return en_line[en_tokens[first].start : en_tokens[last].end]


def _en_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def learn_lexicon(corpus: CodiEsp, splits: Iterable[str]) -> tuple[WordLexicon, list[tuple[str, AlignedCase]]]:
    """The word lexicon of every aligned case of ``splits``, and those cases (split, alignment)."""
    lexicon = WordLexicon()
    cases: list[tuple[str, AlignedCase]] = []
    for split in splits:
        for case_id, es_text, en_text in corpus.aligned_texts(split):
            en_lines = _en_lines(en_text)
            aligned = AlignedCase(case_id, es_text, en_lines, align_sentences(es_text, en_lines))
            for pair in aligned.pairs:
                lexicon.add({t.stem for t in content_tokens(es_text[pair.start : pair.end], "es")},
                            {t.stem for k in pair.en_lines for t in content_tokens(en_lines[k], "en")})
            cases.append((split, aligned))
    return lexicon, cases


def projected_span_terms(corpus: CodiEsp, splits: Iterable[str]) -> Iterator[TermEntry]:
    """English evidence terms projected from the Spanish annotations of ``splits`` (source ``codiesp-<split>-en``)."""
    splits = list(splits)
    lexicon, cases = learn_lexicon(corpus, splits)
    spans_by_split: dict[str, dict[str, list[tuple[str, int, int]]]] = {}
    for split in splits:
        for span in corpus.diagnosis_spans(split):
            spans_by_split.setdefault(split, {}).setdefault(span.case_id, []).append(
                (normalize_code(span.code), span.start, span.end))
    for split, aligned in cases:
        for code, start, end in spans_by_split.get(split, {}).get(aligned.case_id, []):
            pair = next((p for p in aligned.pairs if p.start <= start and end <= p.end), None)
            if pair is None:
                continue
            line = " ".join(aligned.en_lines[k] for k in pair.en_lines)
            english = project_span(aligned.es_text, start, end, line, lexicon)
            if english:
                yield TermEntry(english, code, f"codiesp-{split}-en", aligned.case_id)


def english_words(lexicon: WordLexicon, *, min_score: float = 0.4) -> dict[str, tuple[str, ...]]:
    """Spanish stem → English stems: the best co-occurring one, and the best cognate when it differs."""
    by_dice: dict[str, tuple[float, str]] = {}
    by_spelling: dict[str, tuple[float, str]] = {}
    # Ties are broken by the English stem, so the lexicon does not depend on set iteration order (hash seed).
    for es_stem, en_stem in lexicon.pairs:
        dice = lexicon.dice(es_stem, en_stem)
        if not dice:
            continue
        if dice >= min_score and (dice, en_stem) > by_dice.get(es_stem, (0.0, "")):
            by_dice[es_stem] = (dice, en_stem)
        if min(len(es_stem), len(en_stem)) >= 4 and es_stem[0] == en_stem[0]:
            spelling = SequenceMatcher(None, es_stem, en_stem).ratio()
            if spelling >= 0.8 and (spelling, en_stem) > by_spelling.get(es_stem, (0.0, "")):
                by_spelling[es_stem] = (spelling, en_stem)
    return {
        es_stem: tuple(dict.fromkeys(best[es_stem][1] for best in (by_dice, by_spelling) if es_stem in best))
        for es_stem in by_dice.keys() | by_spelling.keys()
    }


_EN_SPELLING = (("ph", "f"), ("th", "t"), ("rh", "r"), ("ch", "c"), ("tion", "cion"), ("ity", "idad"))
MIN_SKELETON = 5


def skeleton(stem: str, language: str) -> str:
    """A spelling skeleton shared by Spanish and English medical cognates (both "hiperbilirubinem" for
    "hiperbilirrubinemia" and "hyperbilirubinemia"; "scleroderm" for "esclerodermia" and "scleroderma")."""
    word = stem
    if language == "en":
        word = re.sub(r"^p(?=[ns])", "", word)
        for old, new in _EN_SPELLING:
            word = word.replace(old, new)
    else:
        word = re.sub(r"^es(?=[cptlmq])", "s", word).replace("qu", "c")
    word = word.replace("y", "i").replace("k", "c")
    word = re.sub(r"(.)\1", r"\1", word)
    word = re.sub(r"s$", "", word)
    return re.sub(r"[aeiou]+$", "", word)


@dataclass
class OpenSetTranslation:
    """Spanish word → English stems, so a Spanish note can reach English index/tabular terms (the open-set path
    without an LLM: codes no Spanish annotation ever used, "insuficiencia cardiaca derecha" → I50.810)."""

    words: dict[str, tuple[str, ...]]  # learned from the aligned translations
    skeletons: dict[str, tuple[str, ...]]  # spelling skeleton → English stems of the target terms (cognates)

    def english(self, stem: str) -> tuple[str, ...]:
        learned = self.words.get(stem)
        if learned:
            return learned
        shape = skeleton(stem, "es")
        return self.skeletons.get(shape, ()) if len(shape) >= MIN_SKELETON else ()

    @classmethod
    def build(cls, lexicon: WordLexicon, english_keys: Iterable[tuple[str, ...]]) -> OpenSetTranslation:
        skeletons: dict[str, set[str]] = {}
        for key in english_keys:
            for stem in key:
                shape = skeleton(stem, "en")
                if len(shape) >= MIN_SKELETON:
                    skeletons.setdefault(shape, set()).add(stem)
        return cls(english_words(lexicon), {shape: tuple(sorted(stems))[:2] for shape, stems in skeletons.items()})
