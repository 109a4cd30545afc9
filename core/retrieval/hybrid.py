"""Hybrid retrieval over index-term paths and tabular descriptions: BM25 + FAISS, fused by reciprocal rank.

Uses langchain's ``BM25Retriever``, ``FAISS`` vector store and ``EnsembleRetriever`` (weighted RRF).
Both halves are built once and cached on disk under a key made of the corpus and model versions.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from langchain_classic.retrievers import EnsembleRetriever
from langchain_community.retrievers import BM25Retriever
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document

from core.kb.cache import gc_paused
from core.nlp.textnorm import tokenize
from core.retrieval.embeddings import EmbeddingUnavailable, get_embeddings

log = logging.getLogger(__name__)
RRF_C = 60


@dataclass(frozen=True, slots=True)
class CorpusItem:
    text: str
    code: str
    source: str  # index | tabular | neoplasm | codiesp-train | cie-who-es | ...
    term_id: int = -1  # alphabetical-index term id, when it came from the index
    dense: bool = True  # also embedded for the dense half (embedding every index path is too slow on 2 cores)


@dataclass
class RetrievalHit:
    rank: int
    text: str
    code: str
    source: str
    term_id: int
    score: float  # fused RRF score
    lexical_rank: int | None = None
    dense_rank: int | None = None


def lexical_tokens(text: str) -> list[str]:
    """BM25 tokens: accent-free light stems, language-neutral (stop words are down-weighted by IDF)."""
    return [t.stem for t in tokenize(text, "xx")]


def corpus_key(corpus: list[CorpusItem], model: str) -> str:
    digest = hashlib.sha256(model.encode())
    for item in corpus:
        digest.update(f"{item.text}\t{item.code}\t{item.source}\t{item.dense}\n".encode())
    return digest.hexdigest()[:20]


EMBED_BLOCK = 5000  # texts embedded between two saves of the vector cache (a long first build can be interrupted)


def _save_vectors(known: dict[str, list[float]], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(known, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not write vector cache %s: %s", path, exc)


def _embed_with_cache(embeddings, texts: list[str], cache_dir: Path, model: str) -> list[list[float]]:  # noqa: ANN001
    """Embed texts, reusing vectors computed for earlier corpora (the Spanish corpus repeats the English one)."""
    path = cache_dir / f"vectors-{model}.pkl"
    known: dict[str, list[float]] = {}
    if path.is_file():
        try:
            with path.open("rb") as handle, gc_paused():
                known = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            log.warning("vector cache %s unreadable (%s); recomputing", path, exc)
    missing = sorted({t for t in texts if t not in known})
    if missing:
        log.info("embedding %d new texts with %s (once; cached, resumed if interrupted)", len(missing), model)
    for start in range(0, len(missing), EMBED_BLOCK):
        block = missing[start : start + EMBED_BLOCK]
        known.update(zip(block, embeddings.embed_documents(block), strict=True))
        log.info("embedded %d / %d texts", start + len(block), len(missing))
        _save_vectors(known, path)
    return [known[t] for t in texts]


def _load_cached(
    folder: Path, embedding_model: str | None, notices: list[str]
) -> tuple[BM25Retriever, FAISS | None] | None:
    """The retriever cached in ``folder``, or None when a file there cannot be read (rebuilt then)."""
    try:
        with (folder / "bm25.pkl").open("rb") as handle, gc_paused():
            bm25 = pickle.load(handle)
        faiss = None
        if embedding_model and (folder / "faiss" / "index.faiss").is_file():
            try:
                faiss = FAISS.load_local(
                    str(folder / "faiss"), get_embeddings(embedding_model), allow_dangerous_deserialization=True
                )  # our own file, written by load_or_build
            except EmbeddingUnavailable as exc:
                notices.append(f"dense retrieval off: {exc}")
    except Exception as exc:  # truncated, or written by another version of a library: rebuild
        log.warning("retriever cache in %s unreadable (%s); rebuilding", folder, exc)
        return None
    return bm25, faiss


@dataclass
class HybridRetriever:
    corpus: list[CorpusItem]
    bm25: BM25Retriever
    faiss: FAISS | None
    embedding_model: str
    notices: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load_or_build(cls, corpus: list[CorpusItem], cache_dir: Path, embedding_model: str | None) -> HybridRetriever:
        model = embedding_model or "none"
        key = corpus_key(corpus, model)
        folder = cache_dir / f"retriever-{key}"
        started = time.perf_counter()
        notices: list[str] = []
        loaded = _load_cached(folder, embedding_model, notices) if (folder / "bm25.pkl").is_file() else None
        if loaded is not None:
            timings = {"load_s": round(time.perf_counter() - started, 3)}
            return cls(corpus, loaded[0], loaded[1], model, notices, timings)
        docs = [Document(page_content=item.text, metadata={"doc_id": i}) for i, item in enumerate(corpus)]
        bm25 = BM25Retriever.from_documents(docs, preprocess_func=lexical_tokens)
        lexical_s = time.perf_counter() - started
        faiss = None
        if embedding_model:
            try:
                embeddings = get_embeddings(embedding_model)
                dense_docs = [d for d, item in zip(docs, corpus, strict=True) if item.dense]
                vectors = _embed_with_cache(embeddings, [d.page_content for d in dense_docs], cache_dir, embedding_model)
                faiss = FAISS.from_embeddings(
                    list(zip([d.page_content for d in dense_docs], vectors, strict=True)),
                    embeddings,
                    metadatas=[d.metadata for d in dense_docs],
                )
            except EmbeddingUnavailable as exc:
                notices.append(f"dense retrieval off: {exc}")
        timings = {"build_lexical_s": round(lexical_s, 3), "build_total_s": round(time.perf_counter() - started, 3)}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staged = folder / "bm25.pkl.tmp"  # written whole, then renamed: an interrupted build leaves no half file
            with staged.open("wb") as handle:
                pickle.dump(bm25, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(staged, folder / "bm25.pkl")
            if faiss is not None:
                faiss.save_local(str(folder / "faiss"))
        except OSError as exc:
            log.warning("could not cache retriever in %s: %s", folder, exc)
        return cls(corpus, bm25, faiss, model, notices, timings)

    def _lexical(self, query: str, pool: int) -> list[Document]:
        """BM25 top ``pool``, without the zero-score documents BM25Retriever.invoke would pad the list with."""
        scores = self.bm25.vectorizer.get_scores(self.bm25.preprocess_func(query))
        top = np.argsort(-scores, kind="stable")[:pool]
        return [self.bm25.docs[i] for i in top if scores[i] > 0]

    def search(self, query: str, k: int = 10, pool: int = 50) -> list[RetrievalHit]:
        """Top-k fused hits; each half contributes its top ``pool``."""
        if not query.strip():
            return []
        lexical = self._lexical(query, pool)
        lexical_ranks = {d.metadata["doc_id"]: r for r, d in enumerate(lexical, start=1)}
        dense_ranks: dict[int, int] = {}
        retrievers: list = [self.bm25]
        if self.faiss is not None:
            dense_retriever = self.faiss.as_retriever(search_kwargs={"k": pool})
            dense = dense_retriever.invoke(query)
            dense_ranks = {d.metadata["doc_id"]: r for r, d in enumerate(dense, start=1)}
            retrievers.append(dense_retriever)
            ensemble = EnsembleRetriever(retrievers=retrievers, weights=[0.5, 0.5], id_key="doc_id", c=RRF_C)
            fused = ensemble.weighted_reciprocal_rank([lexical, dense])
        else:
            fused = lexical
        hits: list[RetrievalHit] = []
        for rank, doc in enumerate(fused[:k], start=1):
            doc_id = doc.metadata["doc_id"]
            item = self.corpus[doc_id]
            lr, dr = lexical_ranks.get(doc_id), dense_ranks.get(doc_id)
            weight = 0.5 if self.faiss is not None else 1.0
            score = sum(weight / (r + RRF_C) for r in (lr, dr) if r is not None)
            hits.append(RetrievalHit(rank, item.text, item.code, item.source, item.term_id, round(score, 5), lr, dr))
        return hits
