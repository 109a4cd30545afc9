"""Retrieval benchmark: recall@k of lexical (BM25), dense (FAISS) and fused retrieval, English and Spanish, under
several fusion rules, on held-out queries (``bench/retrieval_queries.py`` says how they are built and held out).

A hit at k: one of the top-k retrieved items carries the query's code (R@k), or a code of its 3-character category
(catR@k). The corpus is what the app searches (``KnowledgeBase.retrieval_corpus``): English without the held-out
index paths and inclusion terms, Spanish built from the labelled splits other than dev. Both halves are computed
once per query; each fusion rule then ranks from them, so the rules are compared on the same candidates.

A rule is chosen per language on the ``tune`` half by the mean of R@1, R@3 and R@10 and reported on ``test``; the
defaults are ``core.retrieval.hybrid.FUSION_BY_LANGUAGE``.

    .venv/bin/python bench/retrieval.py                       # both languages, every rule (builds the dense index once)
    .venv/bin/python bench/retrieval.py --lang en --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import peak_rss_mb  # noqa: E402  (bench/memory.py)
from retrieval_queries import QUERY_DIR, Query, english_queries, read_queries, spanish_queries  # noqa: E402

from core.datasets.codiesp import scorer_key  # noqa: E402
from core.evaluation.metrics import category  # noqa: E402
from core.nlp.textnorm import normalize  # noqa: E402
from core.retrieval.hybrid import FUSION_BY_LANGUAGE, CorpusItem, Fusion, HybridRetriever, fuse  # noqa: E402
from core.settings import load_settings  # noqa: E402

KS = (1, 3, 10)
POOL = 50  # each half's candidate pool, as in HybridRetriever.search
EVAL_SPLIT = "dev"
WEIGHTS = (0.3, 0.5, 0.7, 0.85)
RULES = [
    Fusion("lexical"),
    Fusion("dense"),
    *(Fusion("rrf", dense_weight=w) for w in WEIGHTS),
    *(Fusion("fallback", dense_weight=w, weak_below=t) for t in (0.5, 0.6, 0.75, 1.0) for w in WEIGHTS),
]


def merit(row: dict) -> float:
    """What a rule is chosen by: mean of R@1, R@3 and R@10 (the top of the list matters to a coder and to the LLM
    steps that read the first few hits; R@10 is what the navigator is shown)."""
    return round(sum(row[f"R@{k}"] for k in KS) / len(KS), 4)


def held_out_corpus(corpus: list[CorpusItem], queries: list[Query]) -> list[CorpusItem]:
    """``corpus`` without the items the queries were made from (same text and code)."""
    removed = {(normalize(q.held_out), scorer_key(q.code)) for q in queries if q.held_out}
    return [item for item in corpus if (normalize(item.text), scorer_key(item.code)) not in removed]


def rankings(retriever: HybridRetriever, queries: list[Query]) -> tuple[list[tuple[list[int], float]], list[list[int]],
                                                                       dict[str, float]]:
    """Each query's lexical ranking (with its coverage) and dense ranking, and the time each half took."""
    started = time.perf_counter()
    lexical = [retriever.lexical_ranking(q.text, POOL) for q in queries]
    lexical_s = time.perf_counter() - started
    retriever.dense_ranking("warm-up", 1)  # the first query loads the model's graph
    started = time.perf_counter()
    dense = [retriever.dense_ranking(q.text, POOL) for q in queries]
    dense_s = time.perf_counter() - started
    n = len(queries) or 1
    return lexical, dense, {"lexical_ms_per_query": round(1000 * lexical_s / n, 1),
                            "dense_ms_per_query": round(1000 * dense_s / n, 1)}


def score(rule: Fusion, queries: list[Query], corpus: list[CorpusItem], lexical: list[tuple[list[int], float]],
          dense: list[list[int]], keep: Callable[[Query], bool]) -> dict[str, float | int | str]:
    hits = dict.fromkeys(KS, 0)
    category_hits = 0
    dense_used = 0
    n = 0
    for query, (lexical_ids, covered), dense_ids in zip(queries, lexical, dense, strict=True):
        if not keep(query):
            continue
        n += 1
        fused = fuse(lexical_ids, dense_ids, rule, covered)
        dense_used += rule.rule in ("dense", "rrf") or (rule.rule == "fallback" and covered < rule.weak_below)
        codes = [scorer_key(corpus[doc_id].code) for doc_id, _ in fused]
        code = scorer_key(query.code)
        for k in KS:
            hits[k] += code in codes[:k]
        category_hits += category(code) in {category(c) for c in codes[:10]}
    row: dict[str, float | int | str] = {"rule": str(rule), "queries": n}
    row.update({f"R@{k}": round(hits[k] / (n or 1), 4) for k in KS})
    row["catR@10"] = round(category_hits / (n or 1), 4)
    row["dense_share"] = round(dense_used / (n or 1), 3)
    return row


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    header = ["rule", *(f"R@{k}" for k in KS), "catR@10", "dense used"]
    print(" | ".join(header))
    for row in rows:
        print(" | ".join([f"{row['rule']:<24}", *(f"{row[f'R@{k}']:.3f}" for k in KS), f"{row['catR@10']:.3f}",
                          f"{row['dense_share']:.0%}"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("en", "es", "both"), default="both")
    parser.add_argument("--embedding", choices=("e5-small-multilingual", "use-multilingual"),
                        default="e5-small-multilingual")
    parser.add_argument("--queries", type=Path, default=QUERY_DIR,
                        help="folder with retrieval-{en,es}.tsv (bench/retrieval_queries.py); rebuilt when missing")
    parser.add_argument("--data-dir", type=Path, help="default: settings data_dir")
    parser.add_argument("--cache-dir", type=Path, help="default: settings cache_dir (built indexes are reused)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)

    from core.kb.knowledge import get_knowledge
    from core.progress import cli_progress

    settings = load_settings(data_dir=args.data_dir, cache_dir=args.cache_dir, embedding_model=args.embedding,
                             backend="none")
    kb = get_knowledge(settings)
    if kb.codiesp_root is None or not (kb.codiesp_root / EVAL_SPLIT).is_dir():
        print(f"error: CodiEsp {EVAL_SPLIT} split not found under {settings.resolve(settings.codiesp_dir)}",
              file=sys.stderr)
        return 2
    languages = ("en", "es") if args.lang == "both" else (args.lang,)
    results: dict[str, dict] = {}
    for language in languages:
        path = args.queries / f"retrieval-{language}.tsv"
        queries = read_queries(path) if path.is_file() else (
            english_queries(kb) if language == "en" else spanish_queries(kb))
        if language == "en":
            corpus = held_out_corpus(kb.retrieval_corpus("en", ()), queries)
        else:
            corpus = kb.retrieval_corpus("es", tuple(s for s in kb.labelled_splits() if s != EVAL_SPLIT))
        started = time.perf_counter()
        retriever = HybridRetriever.load_or_build(corpus, settings.cache_dir, args.embedding, dense_policy="wait",
                                                  progress=cli_progress(), fusion=Fusion("rrf"))
        if not retriever.ensure_dense():
            print(f"error: dense retrieval unavailable: {retriever.dense_status().describe()}", file=sys.stderr)
            return 2
        index_s = time.perf_counter() - started
        lexical, dense, speed = rankings(retriever, queries)
        corpus_codes = {scorer_key(item.code) for item in corpus}
        reachable = sum(scorer_key(q.code) in corpus_codes for q in queries) / (len(queries) or 1)
        sources = list(dict.fromkeys(q.source for q in queries))
        tables = {half: [score(rule, queries, corpus, lexical, dense, lambda q, h=half: q.half == h) for rule in RULES]
                  for half in ("tune", "test")}
        by_source = {source: [score(rule, queries, corpus, lexical, dense, lambda q, s=source: q.source == s)
                              for rule in RULES] for source in sources} if len(sources) > 1 else {}
        results[language] = {"queries": len(queries), "sources": {s: sum(q.source == s for q in queries) for s in sources},
                             "reachable": round(reachable, 4), "corpus_items": len(corpus),
                             "embedded_items": sum(item.dense for item in corpus), "index_s": round(index_s, 1),
                             **speed, "tune": tables["tune"], "test": tables["test"], "by_source": by_source}
        print(f"\n## {language}: {len(queries)} queries {results[language]['sources']}; code in corpus for "
              f"{reachable:.1%}; corpus {len(corpus):,} items ({results[language]['embedded_items']:,} embedded); "
              f"index ready in {index_s:.1f} s; lexical {speed['lexical_ms_per_query']} ms, dense "
              f"{speed['dense_ms_per_query']} ms per query")
        print_table(f"{language} tune half", tables["tune"])
        print_table(f"{language} test half", tables["test"])
        for source, rows in by_source.items():
            print_table(f"{language} {source} (both halves)", rows)

    for language, result in results.items():
        best = max(range(len(RULES)), key=lambda i: merit(result["tune"][i]))
        default = FUSION_BY_LANGUAGE.get(language)
        current = next((i for i, rule in enumerate(RULES) if rule == default), None)
        result["chosen"] = str(RULES[best])
        print(f"\n{language}: best on tune (mean R@1/R@3/R@10) {RULES[best]} "
              f"({merit(result['tune'][best]):.3f}; test {merit(result['test'][best]):.3f}); lexical "
              f"{merit(result['tune'][0]):.3f} (test {merit(result['test'][0]):.3f}); the default is {default}"
              + (f" ({merit(result['tune'][current]):.3f}; test {merit(result['test'][current]):.3f})"
                 if current is not None else ""))
    print(f"\n# peak RSS {peak_rss_mb():.0f} MB")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
