"""Hybrid retrieval over index-term paths and tabular descriptions: BM25 now, FAISS when it is ready.

The lexical half (langchain's ``BM25Retriever``) is built or loaded with the retriever: seconds. The dense half
(a langchain ``FAISS`` store over sentence embeddings) takes minutes to build the first time, so it is built only
when a search asks for it, in a background thread by default (``dense_policy``), with progress; until it is ready a
search answers from the lexical half and ``dense_status()`` says why. Both halves are cached on disk under keys
made of the corpus (and the model), and an interrupted embedding resumes where it stopped.

How the halves are combined (``Fusion``) was chosen by recall@k on held-out English and Spanish queries
(``bench/retrieval.py``; figures in ``docs/retrieval.md``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.kb.cache import gc_paused
from core.nlp.textnorm import tokenize
from core.progress import Meter, Progress, noop_progress
from core.retrieval.embeddings import EmbeddingUnavailable, get_embeddings

if TYPE_CHECKING:  # langchain_community is imported when a retriever is built or loaded, not with the coding path
    from langchain_community.retrievers import BM25Retriever

log = logging.getLogger(__name__)
RRF_C = 60
DENSE_POLICIES = ("background", "wait", "cached")
EMBED_BLOCK = 5000  # texts embedded between two saves of the vector cache (a long first build can be interrupted)
EMBED_BATCH = 256  # texts per call to the model (and per progress report)
_BUILD_LOCK = threading.Lock()  # one embedding build at a time: two would share the cores and the model


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
    score: float  # fused score (reciprocal ranks)
    lexical_rank: int | None = None
    dense_rank: int | None = None


@dataclass(frozen=True)
class Fusion:
    """How the lexical and dense rankings make one.

    ``rrf``: weighted reciprocal-rank fusion, always. ``fallback``: the lexical ranking as it is when its best hit
    holds at least ``weak_below`` of the query's words, else RRF (the dense half steps in when the words find
    little: another language, a paraphrase). ``lexical`` / ``dense``: one half only (benchmarks)."""

    rule: str = "rrf"
    dense_weight: float = 0.5
    weak_below: float = 0.0

    def __str__(self) -> str:
        if self.rule == "rrf":
            return f"rrf dense={self.dense_weight:g}"
        if self.rule == "fallback":
            return f"fallback <{self.weak_below:g} dense={self.dense_weight:g}"
        return self.rule


# Chosen per language on held-out queries by the mean of R@1, R@3 and R@10 (bench/retrieval.py; docs/retrieval.md).
# English: the words alone, unless the best hit holds under half of them (then mostly the meaning: 1 query in 10).
# Spanish: the meaning (the dense half embeds the Spanish terms); the words until the dense half is ready.
FUSION_BY_LANGUAGE = {
    "en": Fusion("fallback", dense_weight=0.85, weak_below=0.5),
    "es": Fusion("dense"),
}
DEFAULT_FUSION = FUSION_BY_LANGUAGE["en"]


def lexical_tokens(text: str) -> list[str]:
    """BM25 tokens: accent-free light stems, language-neutral (stop words are down-weighted by IDF)."""
    return [t.stem for t in tokenize(text, "xx")]


def corpus_key(corpus: list[CorpusItem], model: str = "") -> str:
    digest = hashlib.sha256(model.encode())
    for item in corpus:
        digest.update(f"{item.text}\t{item.code}\t{item.source}\t{item.dense}\n".encode())
    return digest.hexdigest()[:20]


def coverage(query_tokens: set[str], doc_tokens: set[str]) -> float:
    """Share of the query's distinct tokens the document holds (0 for an empty query)."""
    return len(query_tokens & doc_tokens) / len(query_tokens) if query_tokens else 0.0


def fuse(lexical: list[int], dense: list[int] | None, fusion: Fusion, lexical_coverage: float) -> list[tuple[int, float]]:
    """Doc ids ranked by ``fusion`` from the two rankings (``dense`` None: not available), with their scores."""
    if fusion.rule == "dense" and dense is not None:
        return [(d, 1.0 / (RRF_C + r)) for r, d in enumerate(dense, start=1)]
    lexical_only = (
        dense is None
        or fusion.rule == "lexical"
        or (fusion.rule == "fallback" and lexical_coverage >= fusion.weak_below)
    )
    if lexical_only:
        return [(d, 1.0 / (RRF_C + r)) for r, d in enumerate(lexical, start=1)]
    scores: dict[int, float] = {}
    for weight, ranking in ((1.0 - fusion.dense_weight, lexical), (fusion.dense_weight, dense or [])):
        for r, d in enumerate(ranking, start=1):
            scores[d] = scores.get(d, 0.0) + weight / (RRF_C + r)
    return sorted(scores.items(), key=lambda pair: -pair[1])  # stable: ties keep the lexical order


# -- vector cache -------------------------------------------------------------------------------------------------
def _vector_path(cache_dir: Path, model: str) -> Path:
    return cache_dir / f"vectors-{model}.v2.pkl"


def _load_vectors(cache_dir: Path, model: str) -> dict[str, np.ndarray]:
    """Vectors embedded before, by text (also those of an older list-of-floats cache, read once)."""
    known: dict[str, np.ndarray] = {}
    for path, legacy in ((cache_dir / f"vectors-{model}.pkl", True), (_vector_path(cache_dir, model), False)):
        if not path.is_file():
            continue
        try:
            with path.open("rb") as handle, gc_paused():
                data = pickle.load(handle)
            if legacy:
                known.update({t: np.asarray(v, dtype="float32") for t, v in data.items()})
            else:
                texts, matrix = data
                known.update(zip(texts, matrix, strict=True))
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
            log.warning("vector cache %s unreadable (%s); recomputing what it held", path, exc)
    return known


def _save_vectors(known: dict[str, np.ndarray], cache_dir: Path, model: str) -> None:
    path = _vector_path(cache_dir, model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(known)
        matrix = np.vstack([known[t] for t in texts]).astype("float32") if texts else np.zeros((0, 0), "float32")
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump((texts, matrix), handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        (cache_dir / f"vectors-{model}.pkl").unlink(missing_ok=True)  # the older format, now held in the new file
    except OSError as exc:
        log.warning("could not write vector cache %s: %s", path, exc)


def _embed_with_cache(
    embeddings: Any, texts: list[str], cache_dir: Path, model: str, progress: Progress = noop_progress
) -> np.ndarray:
    """Embed texts, reusing vectors computed for earlier corpora (the Spanish corpus repeats the English one);
    saved every ``EMBED_BLOCK`` texts, so an interrupted build resumes where it stopped."""
    known = _load_vectors(cache_dir, model)
    missing = sorted({t for t in texts if t not in known})
    step = f"dense index ({model})"
    if missing:
        log.info("embedding %d new texts with %s (once; cached, resumed if interrupted)", len(missing), model)
        batch = min(EMBED_BATCH, EMBED_BLOCK)
        unsaved = 0
        progress(step, f"embedding {len(missing):,} texts", 0, len(missing))
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors = np.asarray(embeddings.embed_documents(chunk), dtype="float32")
            known.update(zip(chunk, vectors, strict=True))
            unsaved += len(chunk)
            if unsaved >= EMBED_BLOCK or start + batch >= len(missing):
                _save_vectors(known, cache_dir, model)
                unsaved = 0
                log.info("embedded %d / %d texts", start + len(chunk), len(missing))
            progress(step, f"embedding {len(missing):,} texts", start + len(chunk), len(missing))
    return np.vstack([known[t] for t in texts]).astype("float32") if texts else np.zeros((0, 0), "float32")


# -- the dense half's state ---------------------------------------------------------------------------------------
@dataclass
class DenseStatus:
    """Where the dense half stands: off | missing (not built; ``cached`` policy) | loading | building | ready |
    failed. ``meter`` holds the embedding's counts, rate and ETA while it builds."""

    state: str
    model: str = ""
    detail: str = ""
    meter: Meter | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def describe(self) -> str:
        """One line for a coder; empty when the dense half is ready or switched off on purpose."""
        name = f"dense retrieval ({self.model})"
        lexical = "searches use the lexical index (BM25) until it is ready"
        if self.state == "building":
            counts = self.meter.describe() if self.meter and self.meter.total else "starting"
            return f"{name} is being built in the background ({counts}); {lexical}"
        if self.state == "loading":
            return f"{name} is loading; {lexical}"
        if self.state == "missing":
            return (f"{name} is not built yet, so this search used the lexical index (BM25) only; "
                    "`python -m core build --dense` builds it (minutes, once)")
        if self.state == "failed":
            return f"{name} is unavailable ({self.detail}); searches use the lexical index (BM25) only"
        return ""


@dataclass
class HybridRetriever:
    corpus: list[CorpusItem]
    bm25: BM25Retriever
    embedding_model: str  # "none": lexical only
    cache_dir: Path | None = None
    key: str = ""
    fusion: Fusion = DEFAULT_FUSION
    dense_policy: str = "background"
    progress: Progress = noop_progress
    timings: dict[str, float] = field(default_factory=dict)
    faiss: Any = None  # langchain FAISS store, once the dense half is ready
    _status: DenseStatus = field(default_factory=lambda: DenseStatus("off"))
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load_or_build(
        cls,
        corpus: list[CorpusItem],
        cache_dir: Path,
        embedding_model: str | None,
        *,
        dense_policy: str = "background",
        fusion: Fusion = DEFAULT_FUSION,
        progress: Progress = noop_progress,
    ) -> HybridRetriever:
        """The lexical half, loaded or built now; the dense half (``embedding_model``) as ``dense_policy`` says:
        ``background``: built or loaded in a thread on the first search; ``wait``: built or loaded on the first
        search, in the caller's thread; ``cached``: loaded when its files are on disk, never built."""
        if dense_policy not in DENSE_POLICIES:
            raise ValueError(f"dense_policy must be one of {DENSE_POLICIES}, got {dense_policy!r}")
        key = corpus_key(corpus)
        folder = cache_dir / f"retriever-{key}"
        started = time.perf_counter()
        bm25 = _load_bm25(folder) if (folder / "bm25.pkl").is_file() else None
        timings: dict[str, float] = {}
        if bm25 is not None:
            timings["load_s"] = round(time.perf_counter() - started, 3)
        else:
            from langchain_community.retrievers import BM25Retriever
            from langchain_core.documents import Document

            docs = [Document(page_content=item.text, metadata={"doc_id": i}) for i, item in enumerate(corpus)]
            bm25 = BM25Retriever.from_documents(docs, preprocess_func=lexical_tokens)
            timings["build_lexical_s"] = round(time.perf_counter() - started, 3)
            _save_bm25(bm25, folder)
        retriever = cls(corpus, bm25, embedding_model or "none", cache_dir, key, fusion, dense_policy, progress,
                        timings=timings)
        if embedding_model:
            retriever._status = DenseStatus("not started", embedding_model)
        return retriever

    # -- the dense half ------------------------------------------------------------------------------------------
    @property
    def dense_folder(self) -> Path | None:
        if self.cache_dir is None or self.embedding_model == "none":
            return None
        return self.cache_dir / f"retriever-{self.key}" / f"faiss-{self.embedding_model}"

    def dense_status(self) -> DenseStatus:
        return self._status

    def dense_cached(self) -> bool:
        folder = self.dense_folder
        return folder is not None and (folder / "index.faiss").is_file()

    def ensure_dense(self, policy: str | None = None) -> bool:
        """Make the dense half ready as ``policy`` (default: the retriever's) says; True when it is ready now."""
        if self.embedding_model == "none" or self._status.state in ("ready", "failed"):
            return self._status.ready
        policy = policy or self.dense_policy
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                thread = self._thread
            elif self._status.state in ("ready", "failed"):
                return self._status.ready
            elif policy == "cached" and not self.dense_cached():
                self._status = DenseStatus("missing", self.embedding_model)
                return False
            else:
                self._status = DenseStatus("loading" if self.dense_cached() else "building", self.embedding_model)
                thread = threading.Thread(target=self._build_dense, name=f"dense-{self.key}", daemon=True)
                self._thread = thread
                thread.start()
        if policy in ("wait", "cached"):
            thread.join()
        return self._status.ready

    def wait_dense(self, timeout: float | None = None) -> bool:
        """Wait for a background build (tests, benchmarks); True when the dense half is ready."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._status.ready

    def _build_dense(self) -> None:
        model = self.embedding_model
        folder = self.dense_folder
        assert folder is not None and self.cache_dir is not None
        started = time.perf_counter()
        try:
            with _BUILD_LOCK:
                embeddings = get_embeddings(model)
                from langchain_community.vectorstores import FAISS

                if (folder / "index.faiss").is_file():
                    try:
                        store = FAISS.load_local(str(folder), embeddings, allow_dangerous_deserialization=True)
                        self.timings["dense_load_s"] = round(time.perf_counter() - started, 3)  # our own file
                        self.faiss, self._status = store, DenseStatus("ready", model)
                        return
                    except Exception as exc:  # truncated, or written by another library version: rebuilt
                        log.warning("dense index in %s unreadable (%s); rebuilding", folder, exc)
                dense = [(i, item) for i, item in enumerate(self.corpus) if item.dense]
                meter = Meter(unit="texts")
                self._status = DenseStatus("building", model, meter=meter)

                def report(step: str, message: str, done: float | None = None, total: float | None = None) -> None:
                    meter.update(done, total)
                    self.progress(step, message, done, total)

                vectors = _embed_with_cache(embeddings, [item.text for _, item in dense], self.cache_dir, model, report)
                store = FAISS.from_embeddings(
                    [(item.text, vector) for (_, item), vector in zip(dense, vectors, strict=True)],
                    embeddings, metadatas=[{"doc_id": i} for i, _ in dense],
                )
                try:
                    store.save_local(str(folder))
                except OSError as exc:
                    log.warning("could not cache the dense index in %s: %s", folder, exc)
                self.timings["dense_build_s"] = round(time.perf_counter() - started, 3)
                self.faiss, self._status = store, DenseStatus("ready", model)
        except EmbeddingUnavailable as exc:
            self._status = DenseStatus("failed", model, str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed build must leave the lexical half answering
            log.exception("building the dense index with %s failed", model)
            self._status = DenseStatus("failed", model, f"{type(exc).__name__}: {exc}")

    # -- search ---------------------------------------------------------------------------------------------------
    def lexical_ranking(self, query: str, pool: int) -> tuple[list[int], float]:
        """BM25 top ``pool`` doc ids (zero scores left out) and the share of the query's words its best hit holds."""
        tokens = self.bm25.preprocess_func(query)
        scores = self.bm25.vectorizer.get_scores(tokens)
        top = [int(i) for i in np.argsort(-scores, kind="stable")[:pool] if scores[i] > 0]
        best = set(self.bm25.preprocess_func(self.bm25.docs[top[0]].page_content)) if top else set()
        return top, coverage(set(tokens), best)

    def dense_ranking(self, query: str, pool: int) -> list[int]:
        """The dense half's top ``pool`` doc ids ([] when it is not ready)."""
        if self.faiss is None:
            return []
        return [d.metadata["doc_id"] for d in self.faiss.similarity_search(query, k=pool)]

    def search(self, query: str, k: int = 10, pool: int = 50) -> list[RetrievalHit]:
        """Top-k hits; each half contributes its top ``pool``. The dense half is used once it is ready (asking for
        it starts its build as ``dense_policy`` says)."""
        if not query.strip():
            return []
        lexical, lexical_coverage = self.lexical_ranking(query, pool)
        dense: list[int] | None = None
        weak = self.fusion.rule != "fallback" or lexical_coverage < self.fusion.weak_below
        if self.embedding_model != "none" and self.fusion.rule != "lexical" and (weak or self.faiss is not None):
            if self.ensure_dense():
                dense = self.dense_ranking(query, pool)
        fused = fuse(lexical, dense, self.fusion, lexical_coverage)
        lexical_ranks = {d: r for r, d in enumerate(lexical, start=1)}
        dense_ranks = {d: r for r, d in enumerate(dense or [], start=1)}
        hits: list[RetrievalHit] = []
        for rank, (doc_id, score) in enumerate(fused[:k], start=1):
            item = self.corpus[doc_id]
            hits.append(RetrievalHit(rank, item.text, item.code, item.source, item.term_id, round(score, 5),
                                     lexical_ranks.get(doc_id), dense_ranks.get(doc_id)))
        return hits


def _load_bm25(folder: Path) -> BM25Retriever | None:
    """The lexical index cached in ``folder``, or None when its file cannot be read (rebuilt then)."""
    try:
        with (folder / "bm25.pkl").open("rb") as handle, gc_paused():
            return pickle.load(handle)
    except Exception as exc:  # truncated, or written by another version of a library: rebuild
        log.warning("retriever cache in %s unreadable (%s); rebuilding", folder, exc)
        return None


def _save_bm25(bm25: BM25Retriever, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / "bm25.pkl.tmp"  # written whole, then renamed: an interrupted build leaves no half file
        with staged.open("wb") as handle:
            pickle.dump(bm25, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(staged, folder / "bm25.pkl")
    except OSError as exc:
        log.warning("could not cache retriever in %s: %s", folder, exc)
