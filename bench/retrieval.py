"""Retrieval benchmark: queries/s and recall@k of lexical (BM25), dense (FAISS) and fused (RRF) retrieval.

Queries are the CodiEsp-X DIAGNOSTICO evidence spans of dev (Spanish), de-duplicated on (text, code); the target
of a query is its gold code. A hit at k: some of the top-k retrieved items carries the gold code (full code), or a
code of the same 3-character category (category level). The corpus is what the app searches for Spanish notes
(``KnowledgeBase.retrieval_corpus("es", splits)``) built from the labelled splits other than dev, so no dev span
is in it.

``--corpus compact`` keeps only the descriptions and terms (tabular descriptions of any length, Spanish WHO
descriptions, train evidence spans; no alphabetical-index paths) whose code is a gold code of train or dev, plus
``--distractors`` random descriptions of other codes, all embedded: small enough to embed with the slow e5 model in
minutes, so the two embedding models can be compared. (The full corpus embeds only category / 4-character tabular
descriptions and the Spanish terms, as the app does.) Built indexes are cached under the cache dir like the app's.

English: CodiEsp has no English evidence spans (the English notes are machine translations; X offsets refer to the
Spanish text), and tabular descriptions or inclusion terms of the gold codes are themselves in the English corpus,
so they would be retrieved verbatim. There is no sound English query set here: ``--lang en`` says so and stops.

    .venv/bin/python bench/retrieval.py --corpus compact --embedding use-multilingual --limit 300
    .venv/bin/python bench/retrieval.py --corpus compact --embedding e5-small-multilingual --limit 300
    .venv/bin/python bench/retrieval.py --corpus full --embedding none --limit 300
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import peak_rss_mb  # noqa: E402  (bench/memory.py)

from core.datasets.codiesp import gold_code_set, load_gold_x  # noqa: E402
from core.evaluation.metrics import category, norm  # noqa: E402
from core.nlp.textnorm import normalize  # noqa: E402
from core.retrieval.hybrid import CorpusItem, HybridRetriever  # noqa: E402
from core.settings import load_settings  # noqa: E402

KS = (5, 10, 25, 50)
POOL = 50  # each half's candidate pool for fusion, as in HybridRetriever.search
EVAL_SPLIT = "dev"
NO_ENGLISH = (
    "no English query set: CodiEsp has no English evidence spans (X offsets refer to the Spanish text), and the "
    "gold codes' English descriptions / inclusion terms are in the English corpus itself. Use --lang es."
)


@dataclass(frozen=True)
class Query:
    text: str
    code: str  # gold code, lower-case


def load_queries(root: Path, limit: int | None, seed: int, current_code: Callable[[str], str]) -> list[Query]:
    """Distinct (span text, gold code) pairs of dev DIAGNOSTICO rows, the code in the tabular list's edition (as the
    corpus's terms are); a random sample of ``limit`` of them."""
    seen: dict[tuple[str, str], Query] = {}
    for row in load_gold_x(root / EVAL_SPLIT / f"{EVAL_SPLIT}X.tsv"):
        if row.kind == "DIAGNOSTICO" and row.text.strip():
            code = current_code(row.code).lower()
            seen.setdefault((normalize(row.text), code), Query(row.text.strip(), code))
    queries = sorted(seen.values(), key=lambda q: (q.code, q.text))
    if limit and limit < len(queries):
        queries = random.Random(seed).sample(queries, limit)
    return queries


def is_description(item: CorpusItem) -> bool:
    """A code description or term (tabular, Spanish WHO, CodiEsp span), not an alphabetical-index path."""
    return item.source == "tabular" or item.term_id < 0


def compact_corpus(full: list[CorpusItem], gold_codes: set[str], distractors: int, seed: int) -> list[CorpusItem]:
    """Descriptions and terms of the gold codes (every length of tabular code), plus ``distractors`` random
    descriptions of other codes; everything embedded."""
    descriptions = [item for item in full if is_description(item)]
    kept = [item for item in descriptions if norm(item.code) in gold_codes]
    others = [item for item in descriptions if norm(item.code) not in gold_codes]
    extra = random.Random(seed).sample(others, min(distractors, len(others)))
    return [replace(item, dense=True) for item in kept + extra]


def evaluate_mode(
    name: str, queries: list[Query], retrieve: Callable[[str], list[str]]
) -> dict[str, float | int | str]:
    """Run ``retrieve`` (query -> ranked codes) on every query; recall@k at full-code and category level."""
    full_hits = dict.fromkeys(KS, 0)
    category_hits = dict.fromkeys(KS, 0)
    started = time.perf_counter()
    ranked_lists = [retrieve(q.text) for q in queries]
    elapsed = time.perf_counter() - started
    for query, codes in zip(queries, ranked_lists, strict=True):
        codes = [norm(c) for c in codes]
        for k in KS:
            top = codes[:k]
            full_hits[k] += query.code in top
            category_hits[k] += category(query.code) in {category(c) for c in top}
    n = len(queries) or 1
    row: dict[str, float | int | str] = {"mode": name, "queries": len(queries),
                                         "queries_per_s": round(len(queries) / elapsed, 1) if elapsed else 0.0}
    row.update({f"R@{k}": round(full_hits[k] / n, 4) for k in KS})
    row.update({f"catR@{k}": round(category_hits[k] / n, 4) for k in KS})
    return row


def print_table(rows: list[dict[str, float | int | str]]) -> None:
    header = ["mode", "q/s", *(f"R@{k}" for k in KS), *(f"catR@{k}" for k in KS)]
    print(" | ".join(f"{h:>9}" for h in header))
    for row in rows:
        cells = [str(row["mode"]), f"{row['queries_per_s']:.1f}", *(f"{row[f'R@{k}']:.3f}" for k in KS),
                 *(f"{row[f'catR@{k}']:.3f}" for k in KS)]
        print(" | ".join(f"{c:>9}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("es", "en"), default="es")
    parser.add_argument("--limit", type=int, default=300, help="number of queries (random sample; 0 = all)")
    parser.add_argument("--embedding", choices=("use-multilingual", "e5-small-multilingual", "none"),
                        default="e5-small-multilingual", help="dense model (none: lexical only)")
    parser.add_argument("--corpus", choices=("full", "compact"), default="compact")
    parser.add_argument("--distractors", type=int, default=2000, help="compact corpus: random items of other codes")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data-dir", type=Path, help="default: settings data_dir")
    parser.add_argument("--cache-dir", type=Path, help="default: settings cache_dir (built indexes are reused)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.lang == "en":
        print(NO_ENGLISH, file=sys.stderr)
        return 2

    from core.kb.knowledge import get_knowledge

    settings = load_settings(data_dir=args.data_dir, cache_dir=args.cache_dir, language="es",
                             embedding_model=args.embedding, backend="none")
    kb = get_knowledge(settings)
    root = kb.codiesp_root
    if root is None or not (root / EVAL_SPLIT).is_dir():
        print(f"error: CodiEsp {EVAL_SPLIT} split not found under {settings.resolve(settings.codiesp_dir)}",
              file=sys.stderr)
        return 2
    splits = tuple(s for s in kb.labelled_splits() if s != EVAL_SPLIT)
    queries = load_queries(root, args.limit or None, args.seed, kb.tabular.current_code)

    started = time.perf_counter()
    corpus = kb.retrieval_corpus("es", splits)
    corpus_s = time.perf_counter() - started
    if args.corpus == "compact":
        gold_codes: set[str] = set()
        for split in (*splits, EVAL_SPLIT):
            gold_codes |= gold_code_set(kb.load_cases(root, split, "es"))
        corpus = compact_corpus(corpus, gold_codes, args.distractors, args.seed)
    corpus_codes = {norm(item.code) for item in corpus}
    reachable = sum(q.code in corpus_codes for q in queries) / (len(queries) or 1)
    n_dense = sum(item.dense for item in corpus)

    model = None if args.embedding == "none" else args.embedding
    started = time.perf_counter()
    retriever = HybridRetriever.load_or_build(corpus, settings.cache_dir, model)
    index_s = time.perf_counter() - started
    if model and retriever.faiss is None:
        print(f"error: dense retrieval unavailable: {'; '.join(retriever.notices)}", file=sys.stderr)
        return 2

    def lexical(text: str) -> list[str]:
        return [corpus[d.metadata["doc_id"]].code for d in retriever._lexical(text, POOL)]

    def dense(text: str) -> list[str]:
        docs = retriever.faiss.similarity_search(text, k=POOL)  # type: ignore[union-attr]
        return [corpus[d.metadata["doc_id"]].code for d in docs]

    def fused(text: str) -> list[str]:
        return [hit.code for hit in retriever.search(text, k=max(KS), pool=POOL)]

    modes: list[tuple[str, Callable[[str], list[str]]]] = [("lexical", lexical)]
    if retriever.faiss is not None:
        modes += [("dense", dense), ("fused", fused)]
        dense("warm-up")  # the first query loads the model's graph
    rows = [evaluate_mode(name, queries, retrieve) for name, retrieve in modes]

    print(f"# queries: {len(queries)} distinct CodiEsp-X dev DIAGNOSTICO spans (seed {args.seed}); "
          f"gold code present in the corpus for {reachable:.1%} of them")
    print(f"# corpus: {args.corpus}, {len(corpus)} items ({n_dense} embedded), dictionary splits {list(splits)}; "
          f"embedding {args.embedding}; corpus assembled in {corpus_s:.1f}s, index built/loaded in {index_s:.1f}s "
          f"({retriever.timings})")
    print("# English: " + NO_ENGLISH)
    print_table(rows)
    print(f"# peak RSS {peak_rss_mb():.0f} MB")
    if args.json:
        print(json.dumps({"queries": len(queries), "reachable": reachable, "corpus": args.corpus,
                          "corpus_items": len(corpus), "embedded_items": n_dense, "embedding": args.embedding,
                          "index_s": round(index_s, 2), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
