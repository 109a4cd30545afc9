"""Neoplasm Table navigation: morphology (behaviour) word + site → the code in that column of the table.

Coders do not find "adenocarcinoma renal" in the alphabetical index: the index sends them to the Neoplasm Table,
where the row is the site (kidney) and the column the behaviour (malignant primary, secondary, in situ, benign,
uncertain, unspecified). This module turns the table (parsed into the index by ``core.kb.index``) and a small
vocabulary of morphology and site words (``data/neoplasm_table.toml``) into linker terms, one per
(behaviour word, site word, column), with source ``neoplasm-table``. Codes the table prints incomplete ("C64.-")
are completed in the tabular list: the side named in the term, else the "unspecified" child.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.kb.index import AlphabeticIndex, printed_code_target
from core.kb.tabular import Tabular
from core.kb.terms import TermEntry

NEOPLASM_SOURCE = "neoplasm-table"
DEFAULT_VOCABULARY = Path(__file__).resolve().parents[2] / "data" / "neoplasm_table.toml"
TABLE_HEAD = "Neoplasm, neoplastic"
COLUMNS = ("Malignant Primary", "Malignant Secondary", "Ca in situ", "Benign", "Uncertain Behavior",
           "Unspecified Behavior")
SIDES = {"es": {"left": ("izquierdo", "izquierda"), "right": ("derecho", "derecha")},
         "en": {"left": ("left",), "right": ("right",)}}


@dataclass(frozen=True)
class NeoplasmVocabulary:
    behaviours: dict[str, tuple[str, ...]]  # morphology word -> table columns
    sites: dict[str, str]  # site word -> table row path (" > " between levels)


def load_vocabulary(path: Path, language: str) -> NeoplasmVocabulary:
    """The words of one language; an empty vocabulary when the file or the language is missing."""
    if not path.is_file():
        return NeoplasmVocabulary({}, {})
    section = tomllib.loads(path.read_text(encoding="utf-8")).get(language, {})
    behaviours = {word: tuple(c for c in columns if c in COLUMNS)
                  for word, columns in section.get("behaviours", {}).items()}
    return NeoplasmVocabulary(behaviours, dict(section.get("sites", {})))


def table_rows(index: AlphabeticIndex) -> dict[tuple[str, ...], dict[str, str]]:
    """Site path (below the table head, lower-case titles) → column → code as printed ("C64.-").

    A row without codes that refers to another row ("renal — see Neoplasm, kidney"; "muscle — see also Neoplasm,
    connective tissue") takes that row's codes.
    """
    rows: dict[tuple[str, ...], dict[str, str]] = {}
    references: dict[tuple[str, ...], str] = {}
    for term in index.terms:
        if term.source != "neoplasm" or len(term.path) < 2 or term.path[0] != TABLE_HEAD:
            continue
        if term.path[-1] in COLUMNS and term.code:
            rows.setdefault(_row_key(term.path[1:-1]), {})[term.path[-1]] = term.code
        elif (term.see or term.see_also).startswith("Neoplasm"):
            references[_row_key(term.path[1:])] = term.see or term.see_also
    for key, reference in references.items():
        target = find_row(rows, _row_key(reference.split(",")[1:]))
        if key not in rows and target:
            rows[key] = rows[target]
    return rows


def _row_key(path: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in path if part.strip())


def _alternatives(title: str) -> set[str]:
    """``"nose, nasal"`` → {"nose", "nasal"}; ``"brain nec"`` → {"brain"}."""
    return {part.replace(" nec", "").replace(" nos", "").strip() for part in title.split(",")} | {title}


def find_row(rows: dict[tuple[str, ...], dict[str, str]], key: tuple[str, ...]) -> tuple[str, ...] | None:
    """The row named by ``key``, level by level, where a level may name one of a title's alternatives
    ("nose" finds "nose, nasal"; "connective tissue" finds "connective tissue nec")."""
    if not key:
        return None
    if key in rows:
        return key
    for candidate in rows:
        if len(candidate) == len(key) and all(k in _alternatives(c) for k, c in zip(key, candidate, strict=True)):
            return candidate
    return None


def complete_code(code: str, tabular: Tabular, side: str = "") -> str:
    """The billable code a coder would pick below a table code: the named side, else the "unspecified" child."""
    target = printed_code_target(code)
    if not target or not tabular.exists(target):
        return ""
    return tabular.unspecified_code(target, side)


def _english_sites(rows: dict[tuple[str, ...], dict[str, str]]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """English site words straight from the table: each top-level row's titles ("abdomen, abdominal" gives both)."""
    for key in rows:
        if len(key) != 1:
            continue
        for word in sorted(_alternatives(key[0])):  # sorted: the same terms in the same order in every process
            if len(word) >= 3:
                yield word, key


def neoplasm_terms(index: AlphabeticIndex, tabular: Tabular, language: str, vocabulary_path: Path) -> list[TermEntry]:
    """Linker terms for every (behaviour word, site word, column) the table has a code for."""
    rows = table_rows(index)
    if not rows:
        return []
    vocabulary = load_vocabulary(vocabulary_path, language)
    sites: dict[str, tuple[str, ...]] = {}
    if language == "en":
        sites.update(_english_sites(rows))
    for word, path in vocabulary.sites.items():
        key = find_row(rows, _row_key(path.split(" > ")))
        if key:
            sites[word] = key
    sides = SIDES.get(language, SIDES["en"])
    entries: list[TermEntry] = []
    completed: dict[tuple[str, str], str] = {}
    for site_word, key in sites.items():
        row = rows[key]
        for behaviour, columns in vocabulary.behaviours.items():
            for column in columns:
                printed = row.get(column, "")
                if not printed or printed == "-":
                    continue
                for side, side_words in (("", ("",)), *sides.items()):
                    if (printed, side) not in completed:
                        completed[(printed, side)] = complete_code(printed, tabular, side)
                    code = completed[(printed, side)]
                    if not code or (side and code == completed[(printed, "")]):
                        continue  # no code for this side, or the side does not change the code
                    for side_word in side_words:
                        entries.append(TermEntry(f"{behaviour} {site_word} {side_word}".strip(), code, NEOPLASM_SOURCE))
    return entries


def missing_sites(index: AlphabeticIndex, vocabulary_path: Path, language: str) -> list[str]:
    """Site words whose row the table does not have (a typo in the vocabulary file, or a changed table)."""
    rows = table_rows(index)
    vocabulary = load_vocabulary(vocabulary_path, language)
    return [word for word, path in vocabulary.sites.items() if not find_row(rows, _row_key(path.split(" > ")))]
