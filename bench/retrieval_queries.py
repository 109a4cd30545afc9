"""Held-out query sets for the retrieval benchmark (``bench/retrieval.py``), English and Spanish.

English (CodiEsp has no English evidence spans, so the queries are built from what the app has):

- ``index``: alphabetical-index paths written the way a note says them (``Failure > heart > right`` →
  "right heart failure"), target the code the index gives;
- ``inclusion``: tabular inclusion terms ("Right ventricular failure" → I50.81), target their code;
- ``codiesp-en``: CodiEsp dev evidence spans projected onto the English translations (``core.kb.bilingual``),
  target the gold code. The English retrieval corpus holds no CodiEsp term, so these are held out as they are.

An index or inclusion query's own corpus item (and any item with the same text and code) is *held out*: removed
from the corpus the benchmark searches, so a query is never found by its own words (``held_out``).

Spanish: distinct CodiEsp-X dev DIAGNOSTICO spans (text, gold code); the corpus is built from the labelled splits
other than dev, so no dev span is in it.

Every query's code is in the tabular list's edition (as the corpus's), and each set is split in two halves by a
seeded shuffle: ``tune`` (the fusion rule is chosen on it) and ``test`` (reported, never used to choose).

    .venv/bin/python bench/retrieval_queries.py            # writes bench/queries/retrieval-{en,es}.tsv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.kb.terms import _alternatives  # noqa: E402
from core.nlp.textnorm import normalize  # noqa: E402

QUERY_DIR = Path(__file__).resolve().parent / "queries"
EVAL_SPLIT = "dev"
SIZES_EN = {"index": 400, "inclusion": 300, "codiesp-en": 300}
SIZE_ES = 600


@dataclass(frozen=True)
class Query:
    text: str
    code: str  # target code, as the tabular list writes it (I50.81)
    source: str  # index | inclusion | codiesp-en | codiesp-es
    half: str = ""  # tune | test
    held_out: str = ""  # the corpus text removed for this query ("" when none)


def natural_path(path: tuple[str, ...]) -> str:
    """An index path as a note would say it: modifiers before the main term, one form of each word
    (``("Infarct, infarction", "myocardium, myocardial")`` → "myocardial infarction")."""
    pieces = []
    for number, piece in enumerate(path):
        forms = _alternatives(piece)
        if forms is not None:
            pieces.append(forms[-1] if number else forms[0])
        else:
            pieces.append(piece.split(",")[0] if number == 0 else piece)
    words = [*reversed(pieces[1:]), pieces[0]]
    return " ".join(" ".join(words).replace(" NEC", "").replace(" NOS", "").split()).lower()


def _sample(items: list[Query], size: int, seed: int) -> list[Query]:
    unique = list({(normalize(q.text), q.code): q for q in sorted(items, key=lambda q: (q.code, q.text))}.values())
    return random.Random(seed).sample(unique, min(size, len(unique)))


def _halves(queries: Iterable[Query], seed: int) -> list[Query]:
    shuffled = list(queries)
    random.Random(seed + 1).shuffle(shuffled)
    return [Query(q.text, q.code, q.source, "tune" if i % 2 == 0 else "test", q.held_out)
            for i, q in enumerate(shuffled)]


def english_queries(kb, seed: int = 13, sizes: dict[str, int] | None = None) -> list[Query]:  # noqa: ANN001
    sizes = sizes or SIZES_EN
    tabular = kb.tabular
    index_items = []
    for term in kb.index.coded_terms():
        if term.source == "cms-index" and len(term.path) >= 2 and tabular.get(term.target_code) is not None:
            text = natural_path(term.path)
            if len(text.split()) >= 2:
                index_items.append(Query(text, term.target_code, "index", held_out=term.title))
    inclusion_items = []
    for item in tabular.codes.values():
        if item.kind in ("chapter", "block"):
            continue
        for inclusion in item.notes.inclusion_terms:
            text = inclusion.replace(" NOS", "").strip()
            if text and normalize(text) != normalize(item.description):
                inclusion_items.append(Query(text, item.code, "inclusion", held_out=inclusion))
    codiesp_items = []
    root = kb.codiesp_root
    if root is not None and (root / EVAL_SPLIT).is_dir():
        from core.kb.bilingual import projected_span_terms

        for entry in projected_span_terms(kb.codiesp, (EVAL_SPLIT,)):
            code = tabular.current_code(entry.code)
            if tabular.get(code) is not None and entry.text.strip():
                codiesp_items.append(Query(entry.text.strip(), code, "codiesp-en"))
    queries = (_sample(index_items, sizes["index"], seed) + _sample(inclusion_items, sizes["inclusion"], seed)
               + _sample(codiesp_items, sizes["codiesp-en"], seed))
    return _halves(queries, seed)


def spanish_queries(kb, seed: int = 13, size: int = SIZE_ES) -> list[Query]:  # noqa: ANN001
    root = kb.codiesp_root
    if root is None or not (root / EVAL_SPLIT).is_dir():
        return []
    items = []
    for row in kb.codiesp.diagnosis_spans(EVAL_SPLIT):
        if row.text.strip():
            items.append(Query(row.text.strip(), kb.tabular.current_code(row.code), "codiesp-es"))
    return _halves(_sample(items, size, seed), seed)


def write_queries(queries: list[Query], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "code", "source", "half", "held_out"])
        for q in queries:
            writer.writerow([q.text, q.code, q.source, q.half, q.held_out])


def read_queries(path: Path) -> list[Query]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Query(**row) for row in csv.DictReader(handle, delimiter="\t")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the held-out retrieval query sets")
    parser.add_argument("--out", type=Path, default=QUERY_DIR)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data-dir", type=Path, help="default: settings data_dir")
    args = parser.parse_args(argv)
    from core.kb.knowledge import get_knowledge
    from core.settings import load_settings

    kb = get_knowledge(load_settings(data_dir=args.data_dir, embedding_model="none", backend="none"))
    for language, queries in (("en", english_queries(kb, args.seed)), ("es", spanish_queries(kb, args.seed))):
        path = args.out / f"retrieval-{language}.tsv"
        write_queries(queries, path)
        counts = {s: sum(q.source == s for q in queries) for s in dict.fromkeys(q.source for q in queries)}
        print(f"{path}: {len(queries)} queries {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
