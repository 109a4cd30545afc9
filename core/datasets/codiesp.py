"""The CodiEsp adapter: the only code that reads CodiEsp files.

A CodiEsp root holds one folder per split: ``<root>/<split>/{split}D.tsv, {split}P.tsv, {split}X.tsv`` (gold
diagnoses, procedures, evidence spans) and ``text_files/`` (Spanish), ``text_files_en/`` (machine translation).
Works for any directory laid out like a CodiEsp split (train, dev, a user's own labelled or unlabelled notes).
Everything else (the dictionary's terms, the bilingual lexicon, the ranker's training notes, evaluation, the note
picker) asks this module: :class:`CodiEsp` for a root, :func:`load_split` for one split's typed cases.
Gold codes are kept lower-case, as in the CodiEsp files. Missing gold files give empty gold lists, so an
unlabelled split still loads. A malformed gold row is skipped with a warning rather than failing the whole load.
CodiEsp's diagnosis codes are of the 2018 edition, written without the 7th character of injury codes; a loader
given ``code_map`` (``Tabular.current_code``) scores and learns from the codes of the edition the app codes in,
and keeps the codes as written for the figures comparable with CodiEsp's own scorer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["DIAGNOSTICO", "PROCEDIMIENTO"]
Language = Literal["es", "en"]
KINDS: tuple[str, ...] = ("DIAGNOSTICO", "PROCEDIMIENTO")
TEXT_DIRS: dict[str, str] = {"es": "text_files", "en": "text_files_en"}  # language -> text folder of a split
TASK_KIND: dict[str, str] = {"D": "DIAGNOSTICO", "P": "PROCEDIMIENTO"}
# A run's settings.json "gold_codes" when its gold was moved to the tabular list's edition (``code_map``); runs
# without it were scored on the codes as CodiEsp writes them.
GOLD_IN_CURRENT_EDITION = "current edition"


def scorer_key(code: str) -> str:
    """A code as CodiEsp's files and official scorer compare it: stripped, lower-case, dots kept (``n44.8``; ``N448``
    is another code there). The app's own spelling is :func:`core.kb.tabular.normalize_code` (``N44.8``)."""
    return code.strip().lower()


@dataclass
class GoldSpan:
    """One CodiEsp-X row: a code and its (possibly discontinuous) evidence in the Spanish text."""

    case_id: str
    kind: Kind
    code: str
    text: str
    spans: list[tuple[int, int]]

    @property
    def start(self) -> int:
        """Start of the first fragment, as the official scorer reads it (fragments are not always in order)."""
        return self.spans[0][0]

    @property
    def end(self) -> int:
        """End of the last fragment, as the official scorer reads it (may be < ``start`` for out-of-order rows)."""
        return self.spans[-1][1]

    @property
    def bounds(self) -> tuple[int, int]:
        """The smallest interval covering every fragment (for highlighting; not what the scorer uses)."""
        return min(s for s, _ in self.spans), max(e for _, e in self.spans)


@dataclass
class Case:
    case_id: str
    text: str
    language: str
    gold_d: list[str] = field(default_factory=list)
    gold_p: list[str] = field(default_factory=list)
    gold_x: list[GoldSpan] = field(default_factory=list)
    # The diagnosis codes as CodiEsp writes them, when ``gold_d`` holds them in another edition (``code_map``).
    gold_d_as_written: list[str] | None = None

    def gold(self, task: str = "D") -> list[str]:
        """Gold codes for a task: ``"D"`` (diagnoses) or ``"P"`` (procedures)."""
        if task not in TASK_KIND:
            raise ValueError(f"task must be 'D' or 'P', got {task!r}")
        return self.gold_d if task == "D" else self.gold_p

    def gold_spans(self, task: str = "D") -> list[GoldSpan]:
        kind = TASK_KIND[task]
        return [g for g in self.gold_x if g.kind == kind]


def _rows(path: Path) -> Iterable[tuple[int, list[str]]]:
    # utf-8-sig tolerates a BOM; blank lines are skipped.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield lineno, line.split("\t")


def _parse_positions(value: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for part in value.split(";"):
        bits = part.split()
        if len(bits) != 2:
            raise ValueError(f"bad position {part!r}")
        spans.append((int(bits[0]), int(bits[1])))
    return spans


def load_gold_codes(path: Path) -> dict[str, list[str]]:
    """``case_id<TAB>code`` file -> {case_id: [codes in file order, lower-case, without duplicates]}.

    A missing file gives an empty dict (unlabelled split).
    """
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    for lineno, row in _rows(path):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            log.warning("%s:%d: skipping malformed row %r", path, lineno, "\t".join(row))
            continue
        codes = out.setdefault(row[0].strip(), [])
        code = scorer_key(row[1])
        if code not in codes:
            codes.append(code)
    return out


def load_gold_x(path: Path) -> list[GoldSpan]:
    """``case_id<TAB>kind<TAB>code<TAB>text<TAB>start end[;start end]`` rows, in file order.

    Offsets are kept as written, even for the few rows that are off by one character against the text.
    A missing file gives an empty list.
    """
    out: list[GoldSpan] = []
    if not path.is_file():
        return out
    for lineno, row in _rows(path):
        try:
            if len(row) != 5:
                raise ValueError(f"expected 5 columns, got {len(row)}")
            case_id, kind, code, text, positions = row
            kind = kind.strip().upper()
            if kind not in KINDS:
                raise ValueError(f"unknown label {kind!r}")
            spans = _parse_positions(positions)
        except ValueError as exc:
            log.warning("%s:%d: skipping malformed X row (%s)", path, lineno, exc)
            continue
        out.append(GoldSpan(case_id.strip(), kind, scorer_key(code), text, spans))  # type: ignore[arg-type]
    return out


def gold_path(root: Path, split: str, task: str) -> Path:
    """``<root>/<split>/<split><task>.tsv`` for task ``D`` (diagnoses), ``P`` (procedures) or ``X`` (spans)."""
    return Path(root) / split / f"{split}{task}.tsv"


def text_folder(root: Path, split: str, language: str) -> Path:
    """The folder of a split's texts in ``language`` (``text_files`` or ``text_files_en``)."""
    if language not in TEXT_DIRS:
        raise ValueError(f"lang must be one of {tuple(TEXT_DIRS)}, got {language!r}")
    return Path(root) / split / TEXT_DIRS[language]


def read_text(path: Path) -> str:
    """A note's text: bytes decoded without newline translation, so gold offsets stay exact."""
    return path.read_bytes().decode("utf-8")


def split_dir(root: Path, split: str) -> Path:
    path = Path(root) / split
    if not path.is_dir():
        raise FileNotFoundError(
            f"CodiEsp split directory not found: {path} (expected {split}D.tsv, text_files/ ... under it; "
            "check the data_dir / codiesp_dir settings)"
        )
    return path


def load_split(
    root: Path, split: str, lang: Language = "es", code_map: Callable[[str], str] | None = None
) -> list[Case]:
    """Load every case of ``<root>/<split>`` whose text exists in ``lang``, sorted by case id.

    ``lang="en"`` reads ``text_files_en`` (machine translation); gold X offsets still refer to the Spanish text.
    Gold rows for cases without a text file are ignored. ``code_map`` rewrites the diagnosis codes (D and the
    DIAGNOSTICO rows of X) into another edition; the codes as written stay in ``Case.gold_d_as_written``.
    """
    text_dir = text_folder(root, split, lang)
    split_dir(root, split)
    if not text_dir.is_dir():
        raise FileNotFoundError(f"CodiEsp text directory not found: {text_dir}")
    gold_d = load_gold_codes(gold_path(root, split, "D"))
    gold_p = load_gold_codes(gold_path(root, split, "P"))
    gold_x: dict[str, list[GoldSpan]] = {}
    for row in load_gold_x(gold_path(root, split, "X")):
        gold_x.setdefault(row.case_id, []).append(row)
    cases = []
    for path in sorted(text_dir.glob("*.txt")):
        case_id = path.stem
        cases.append(
            Case(
                case_id=case_id,
                text=read_text(path),
                language=lang,
                gold_d=list(gold_d.get(case_id, [])),
                gold_p=list(gold_p.get(case_id, [])),
                gold_x=list(gold_x.get(case_id, [])),
            )
        )
    cases.sort(key=lambda c: c.case_id)
    if code_map is not None:
        for case in cases:
            _map_diagnoses(case, code_map)
    return cases


def _map_diagnoses(case: Case, code_map: Callable[[str], str]) -> None:
    def mapped(code: str) -> str:
        return scorer_key(code_map(code))

    case.gold_d_as_written = case.gold_d
    case.gold_d = list(dict.fromkeys(mapped(code) for code in case.gold_d))
    case.gold_x = [GoldSpan(g.case_id, g.kind, mapped(g.code), g.text, g.spans) if g.kind == "DIAGNOSTICO" else g
                   for g in case.gold_x]


def gold_code_set(cases: Iterable[Case], task: str = "D") -> set[str]:
    """Every distinct gold code of a task across cases (e.g. the codes "seen in train")."""
    return {code for case in cases for code in case.gold(task)}


# --------------------------------------------------------------------------- a CodiEsp root
Note = tuple[str, str, set[str]]  # case id, text, gold diagnosis codes (what the dictionary and the ranker fit on)


def codiesp_root(settings: Settings) -> Path | None:
    """``data_dir / codiesp_dir`` when it is a directory."""
    root = settings.resolve(settings.codiesp_dir)
    return root if root is not None and root.is_dir() else None


@dataclass(frozen=True)
class CodiEsp:
    """A CodiEsp root and everything the app reads from it."""

    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> CodiEsp | None:
        root = codiesp_root(settings)
        return None if root is None else cls(root)

    def available_splits(self) -> dict[str, list[str]]:
        """{split: [languages with text]} for every split folder (labelled or not)."""
        return available_splits(self.root)

    def labelled_splits(self) -> tuple[str, ...]:
        """Splits with a diagnosis gold file, sorted."""
        return labelled_splits(self.root)

    def case_ids(self, split: str, language: str) -> list[str]:
        folder = text_folder(self.root, split, language)
        return sorted(p.stem for p in folder.glob("*.txt")) if folder.is_dir() else []

    def case_text(self, split: str, language: str, case_id: str) -> str:
        return read_text(text_folder(self.root, split, language) / f"{case_id}.txt")

    def cases(self, split: str, language: Language, code_map: Callable[[str], str] | None = None) -> list[Case]:
        return load_split(self.root, split, language, code_map)

    def coded_notes(
        self, splits: Iterable[str], language: str, code_map: Callable[[str], str] | None = None
    ) -> list[Note]:
        """(case id, text, gold diagnosis codes) of every case of ``splits`` with gold and a text in ``language``,
        split by split, cases sorted by id; ``code_map`` rewrites each code (e.g. into the tabular list's edition),
        else codes stay as CodiEsp writes them (lower-case)."""
        notes: list[Note] = []
        for split in splits:
            gold = load_gold_codes(gold_path(self.root, split, "D"))
            folder = text_folder(self.root, split, language)
            for case_id in sorted(gold):
                path = folder / f"{case_id}.txt"
                if path.is_file():
                    codes = {code_map(c) for c in gold[case_id]} if code_map else set(gold[case_id])
                    notes.append((case_id, read_text(path), codes))
        return notes

    def diagnosis_spans(self, split: str) -> list[GoldSpan]:
        """The DIAGNOSTICO rows of a split's X file, in file order (empty without one)."""
        return [g for g in load_gold_x(gold_path(self.root, split, "X")) if g.kind == "DIAGNOSTICO"]

    def aligned_texts(self, split: str) -> Iterator[tuple[str, str, str]]:
        """(case id, Spanish text, English text) of every case of ``split`` with both, sorted by id."""
        spanish, english = text_folder(self.root, split, "es"), text_folder(self.root, split, "en")
        for es_path in sorted(spanish.glob("*.txt")):
            en_path = english / es_path.name
            if en_path.is_file():
                yield es_path.stem, read_text(es_path), read_text(en_path)

    def learned_from(self, splits: Iterable[str]) -> list[Path | None]:
        """The files a dictionary learns from, per split its X then its D file (None when missing): their
        fingerprints key the cached dictionary."""
        paths = [gold_path(self.root, split, task) for split in splits for task in ("X", "D")]
        return [path if path.is_file() else None for path in paths]


def available_splits(root: Path | None) -> dict[str, list[str]]:
    """{split: [languages with text]} for every split folder under a CodiEsp root (labelled or not)."""
    if root is None or not Path(root).is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for folder in sorted(Path(root).iterdir()):
        languages = [lang for lang, name in TEXT_DIRS.items() if (folder / name).is_dir()]
        if folder.is_dir() and languages:
            out[folder.name] = languages
    return out


def labelled_splits(root: Path | None) -> tuple[str, ...]:
    """Splits under ``root`` with a diagnosis gold file (``<split>D.tsv``), sorted."""
    if root is None or not Path(root).is_dir():
        return ()
    return tuple(sorted(p.name for p in Path(root).iterdir() if gold_path(root, p.name, "D").is_file()))
