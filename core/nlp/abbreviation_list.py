"""The curated abbreviation lists (``data/abbreviations/<lang>.tsv``): reading them, and one matcher per list (a
trie regex of every abbreviation and an index of the cue words that settle a meaning). See :mod:`core.nlp.abbreviations`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data" / "abbreviations"
COLUMNS = ("abbreviation", "expansion", "case", "context", "comment")
CASES = {"exact": True, "any": False}
CONTEXT_WINDOW = 8  # words on either side of the abbreviation where a cue counts

# Optional separator between the parts of an abbreviation: spaces (not a line break) or one hyphen.
_SEP = r"(?:[^\S\n]+|-)?"
_SEP_CHARS = re.compile(r"[\s\-]+")
_PLURAL = r"(?:['’]?s)?"
# A word for cue matching: letters, or digits, or "%" ("DM2" is "dm", "2"; "U/L" is "u", "l").
_WORD = re.compile(r"[^\W\d_]+|\d+|%")
_SENTENCE_BREAK = re.compile(r"[;\n]|\.(?=\s|$)")
_URL_LIKE = re.compile(
    r"://|^\W?www\.|@|\\|^[(\[]?[/~]|[?&]\w+=|\.(?:com|org|net|gov|edu|io|html?|php|aspx?|pdf)\b", re.IGNORECASE
)
_GLUE_RIGHT = "-_.:#=+"  # a code goes on after these: "CAD-001", "HTN.2", "MI#3", "ICD-10"
_GLUE_LEFT = "-_=+"  # or before these: "2024-HTN" (not ".": "1.HTN" is a numbered list; "post-MI" has no digit)
_ZIP_CODE = re.compile(r"[^\S\n]+\d{5}(?:-\d{4})?(?!\w)")  # "Detroit, MI 48201": a US state, not an infarction
_ALNUM_RUN = re.compile(r"[^\W_]+")
_ALNUM_RUN_BACK = re.compile(r"[^\W_]+$")



@dataclass(frozen=True)
class Abbreviation:
    abbreviation: str
    expansion: str
    case_sensitive: bool
    context: tuple[str, ...] = ()
    comment: str = ""

    @property
    def key(self) -> str:
        """The lookup key: lower case without separators ("DM II", "DM-II" and "dmii" meet)."""
        return _lookup_key(self.abbreviation)

    @property
    def allows_plural(self) -> bool:
        return self.abbreviation[-1:].isupper()



# -- loading ----------------------------------------------------------------------------------------------------

_LOADED: dict[Path, tuple[tuple[int, int], tuple[Abbreviation, ...]]] = {}


def default_path(language: str) -> Path:
    return DATA_DIR / f"{language}.tsv"


def load_abbreviations(language: str, path: Path | None = None) -> list[Abbreviation]:
    """The curated list of one language (``data/abbreviations/<language>.tsv`` unless ``path`` is given).

    Cached per path and reread when the file changes. A malformed line raises ``ValueError`` naming file and line.
    """
    return list(_load(Path(path) if path is not None else default_path(language)))


def _load(path: Path) -> tuple[Abbreviation, ...]:
    resolved = path.resolve()
    stat = resolved.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _LOADED.get(resolved)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    entries = tuple(parse_abbreviations(resolved.read_text(encoding="utf-8"), str(resolved)))
    _LOADED[resolved] = (stamp, entries)
    return entries


def parse_abbreviations(content: str, source: str = "<string>") -> list[Abbreviation]:
    """The rows of a list in TSV form; ``source`` names it in error messages."""
    entries: list[Abbreviation] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    header_seen = False
    for lineno, raw in enumerate(content.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        where = f"{source}:{lineno}"
        if not header_seen:
            if tuple(c.strip().lower() for c in cells) != COLUMNS:
                raise ValueError(f"{where}: expected the header {'<TAB>'.join(COLUMNS)}, got {line!r}")
            header_seen = True
            continue
        if len(cells) == 4:
            cells.append("")  # an empty comment whose tab an editor trimmed
        if len(cells) != 5:
            raise ValueError(f"{where}: expected 5 tab-separated columns, got {len(cells)}: {line!r}")
        abbreviation, expansion, case, context, comment = (c.strip() for c in cells)
        if not abbreviation or not expansion:
            raise ValueError(f"{where}: empty abbreviation or expansion: {line!r}")
        if not abbreviation[0].isalnum() or not abbreviation[-1].isalnum() and not abbreviation.endswith("/"):
            raise ValueError(
                f"{where}: abbreviation {abbreviation!r} must start with a letter or digit and end with one or with '/'"
            )
        if case not in CASES:
            raise ValueError(f"{where}: case must be 'exact' or 'any', got {case!r}")
        cues = tuple(c.strip() for c in context.split("|")) if context else ()
        for cue in cues:
            if not cue or not _cue_tokens(cue) or "*" in cue[:-1]:
                raise ValueError(f"{where}: malformed cue {cue!r} in context {context!r}")
        entry = Abbreviation(abbreviation, expansion, CASES[case], cues, comment)
        dup = (abbreviation if entry.case_sensitive else abbreviation.lower(), tuple(sorted(_fold(c) for c in cues)))
        if dup in seen:
            raise ValueError(f"{where}: same abbreviation and context as line {seen[dup]}: {abbreviation!r}")
        seen[dup] = lineno
        entries.append(entry)
    if not header_seen:
        raise ValueError(f"{source}: no header line")
    return entries


# -- the matcher of one list ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _lookup_key(text: str) -> str:
    return text.lower() if text.isalnum() else _SEP_CHARS.sub("", text).lower()


def _cue_tokens(cue: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_fold(cue.rstrip("*"))))


def _content_words(text: str) -> tuple[str, ...]:
    words = _WORD.findall(_fold(text))
    return tuple(w for w in words if len(w) >= 4) or tuple(words)


def _pattern_units(abbreviation: str) -> list[str]:
    """The abbreviation as regex pieces: its characters, with an optional separator at each space or hyphen and at
    each step from a letter to a digit."""
    units: list[str] = []
    previous = ""
    for ch in abbreviation:
        if ch in " -":
            if units and units[-1] != _SEP:
                units.append(_SEP)
            previous = ""
            continue
        if previous.isalpha() and ch.isdigit():
            units.append(_SEP)
        units.append(re.escape(ch.lower()))
        previous = ch
    return units


def _leaf(rows: Sequence[Abbreviation]) -> str:
    """What must follow an abbreviation: no letter or digit (an optional plural first); nothing after a final '/'
    ("w/CKD")."""
    if rows[0].abbreviation.endswith("/"):
        return ""
    return (_PLURAL if any(row.allows_plural for row in rows) else "") + r"(?!\w)"


def _trie_regex(leaves: dict[tuple[str, ...], str]) -> str:
    """One regex for all unit sequences, sharing prefixes; the longest abbreviation is tried first."""
    trie: dict = {}
    for units, leaf in leaves.items():
        node = trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[None] = leaf

    def emit(node: dict) -> str:
        branches = [unit + emit(child) for unit, child in sorted((k, v) for k, v in node.items() if k is not None)]
        if None in node:
            branches.append(node[None])  # stopping here comes last, so a longer abbreviation wins
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


@dataclass(frozen=True)
class _Cue:
    tokens: tuple[str, ...]
    stem: bool  # the last token is a stem ("anticoag*")


class _CueIndex:
    """The cues of one abbreviation's meanings, indexed by their first word (or the first two letters of a
    one-word stem), so a window is read word by word instead of cue by cue."""

    def __init__(self, rows: Sequence[Abbreviation]) -> None:
        self.by_word: dict[str, list[tuple[int, _Cue]]] = {}
        self.by_prefix: dict[str, list[tuple[int, _Cue]]] = {}
        for order, row in enumerate(rows):
            for text in row.context:
                cue = _Cue(_cue_tokens(text), text.endswith("*"))
                first = cue.tokens[0]
                if len(cue.tokens) == 1 and cue.stem:
                    self.by_prefix.setdefault(first[:2], []).append((order, cue))
                    continue
                forms = [first]
                if len(cue.tokens) == 1 and len(first) >= 3:
                    forms += [first + "s", first + "es"]  # a word cue also counts in its plural
                for form in forms:
                    self.by_word.setdefault(form, []).append((order, cue))

    def cues_at(self, words: list[str], i: int) -> list[tuple[int, int]]:
        """(row order, cue length in words) of each cue that starts at ``words[i]``."""
        word = words[i]
        found = []
        for order, cue in self.by_word.get(word, ()):
            if _cue_at(words, i, cue):
                found.append((order, len(cue.tokens)))
        for order, cue in self.by_prefix.get(word[:2], ()):
            if word.startswith(cue.tokens[0]):
                found.append((order, 1))
        return found


class _Matcher:
    """The compiled regex and lookup tables of one list of abbreviations."""

    def __init__(self, entries: Sequence[Abbreviation]) -> None:
        self.by_key: dict[str, list[Abbreviation]] = {}
        for entry in entries:
            self.by_key.setdefault(entry.key, []).append(entry)
        self.cue_index: dict[str, tuple[list[Abbreviation], _CueIndex]] = {}
        for key, rows in self.by_key.items():
            cued = [row for row in rows if row.context]
            if cued:
                self.cue_index[key] = (cued, _CueIndex(cued))
        self.content_words = {entry: _content_words(entry.expansion) for entry in entries}
        leaves = {tuple(_pattern_units(rows[0].abbreviation)): _leaf(rows) for rows in self.by_key.values()}
        body = _trie_regex(leaves) if leaves else r"(?!x)x"
        self.pattern = re.compile(r"(?<![\w@])" + body, re.IGNORECASE)
        self.shorter: dict[str, list[str]] = {}  # first letter -> keys, longest first (for the fallback)
        for key in sorted(self.by_key, key=len, reverse=True):
            self.shorter.setdefault(key[0], []).append(key)
        self._single: dict[str, re.Pattern[str]] = {}

    def single(self, key: str) -> re.Pattern[str]:
        pattern = self._single.get(key)
        if pattern is None:
            rows = self.by_key[key]
            pattern = re.compile("".join(_pattern_units(rows[0].abbreviation)) + _leaf(rows), re.IGNORECASE)
            self._single[key] = pattern
        return pattern

    def rows_for(self, matched: str) -> list[Abbreviation]:
        """The rows a matched string may stand for, under the case rules and the plural rule."""
        core, plural = matched, False
        if _lookup_key(matched) not in self.by_key:
            for ending in ("'s", "’s", "s"):
                if matched.endswith(ending):
                    core, plural = matched[: -len(ending)], True
                    break
        rows = self.by_key.get(_lookup_key(core))
        if not rows:
            return []
        if plural and not core[-1:].isupper():
            return []  # "utis" or "UTIS" is not a plural of "UTI"
        compact = _SEP_CHARS.sub("", core)
        return [
            row
            for row in rows
            if (not plural or row.allows_plural)
            and (not row.case_sensitive or compact == _SEP_CHARS.sub("", row.abbreviation))
        ]


_MATCHERS: dict[object, tuple[object, _Matcher]] = {}


def _matcher(language: str, entries: Iterable[Abbreviation] | None) -> _Matcher:
    if entries is None:
        loaded = _load(default_path(language))
        cached = _MATCHERS.get(language)
        if cached is None or cached[0] is not loaded:
            cached = (loaded, _Matcher(loaded))
            _MATCHERS[language] = cached
        return cached[1]
    entries = tuple(entries)
    cached = _MATCHERS.get(entries)
    if cached is None:
        if len(_MATCHERS) > 32:
            _MATCHERS.clear()
        cached = (entries, _Matcher(entries))
        _MATCHERS[entries] = cached
    return cached[1]


def _cue_at(words: list[str], i: int, cue: _Cue) -> bool:
    n = len(cue.tokens)
    if i + n > len(words):
        return False
    for k in range(1, n):
        word, token = words[i + k], cue.tokens[k]
        if word != token and not (k == n - 1 and cue.stem and word.startswith(token)):
            return False
    return True


@lru_cache(maxsize=8192)
def _fold_word(word: str) -> str:
    return word.lower() if word.isascii() else _fold(word)
