"""Hybrid retrieval: BM25 + FAISS fused by reciprocal rank, cached on disk."""

from pathlib import Path

import pytest

from core.retrieval.embeddings import EMBEDDING_MODELS
from core.retrieval.hybrid import CorpusItem, HybridRetriever


def test_right_heart_failure_finds_i50_81x(kb):
    hits = kb.search("right heart failure", "en", k=10)
    assert hits, "no hits"
    assert hits[0].code.startswith("I50.81")
    assert sum(h.code.startswith("I50.81") for h in hits[:5]) >= 4
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_index_paths_are_searchable(kb):
    hits = kb.search("failure heart right isolated", "en", k=10)
    assert any(h.source == "cms-index" and h.code == "I50.810" for h in hits)


SMALL_CORPUS = [
    CorpusItem("Right heart failure, unspecified", "I50.810", "tabular"),
    CorpusItem("Acute right heart failure", "I50.811", "tabular"),
    CorpusItem("Type 2 diabetes mellitus without complications", "E11.9", "tabular"),
    CorpusItem("Pneumonia, unspecified organism", "J18.9", "tabular"),
    CorpusItem("Essential (primary) hypertension", "I10", "tabular"),
    CorpusItem("Fever, unspecified", "R50.9", "tabular"),
    CorpusItem("Acute appendicitis", "K35.80", "tabular"),
]


@pytest.mark.parametrize("model", sorted(EMBEDDING_MODELS))
def test_dense_and_lexical_fused_and_cached(tmp_path: Path, model: str):
    built = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, model)
    assert built.faiss is not None and "build_total_s" in built.timings
    hits = built.search("neumonía", k=3)  # Spanish query, English corpus: only the dense half can bridge it
    assert hits[0].code == "J18.9" and hits[0].dense_rank == 1 and hits[0].lexical_rank is None
    fused = built.search("right heart failure", k=3)
    assert fused[0].code.startswith("I50.81") and fused[0].lexical_rank and fused[0].dense_rank
    loaded = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, model)
    assert "load_s" in loaded.timings
    assert [h.code for h in loaded.search("right heart failure", k=3)] == [h.code for h in fused]


def test_lexical_only_when_no_embedding_model(tmp_path: Path):
    retriever = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, None)
    assert retriever.faiss is None
    assert retriever.search("hypertension", k=1)[0].code == "I10"
    assert retriever.search("   ", k=5) == []


def test_an_unreadable_cached_retriever_is_rebuilt(tmp_path: Path):
    HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, None)
    (cached,) = tmp_path.glob("retriever-*/bm25.pkl")
    cached.write_bytes(cached.read_bytes()[:50])  # cut short, as by a full disk or a killed process
    rebuilt = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, None)
    assert "build_total_s" in rebuilt.timings and rebuilt.search("hypertension", k=1)[0].code == "I10"
    assert "load_s" in HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, None).timings  # rewritten whole


class CountingEmbeddings:
    """Deterministic toy vectors; fails on the call numbered ``fail_on`` (an interrupted first build)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise KeyboardInterrupt
        return [[float(len(t)), 1.0] for t in texts]


def test_an_interrupted_embedding_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.retrieval.hybrid as hybrid

    monkeypatch.setattr(hybrid, "EMBED_BLOCK", 2)
    texts = [item.text for item in SMALL_CORPUS]  # 7 texts: blocks of 2, 2, 2, 1
    with pytest.raises(KeyboardInterrupt):
        hybrid._embed_with_cache(CountingEmbeddings(fail_on=3), texts, tmp_path, "toy")
    resumed = CountingEmbeddings()
    vectors = hybrid._embed_with_cache(resumed, texts, tmp_path, "toy")
    assert sum(len(c) for c in resumed.calls) == 3  # the 4 texts of the first two blocks were kept
    assert vectors == [[float(len(t)), 1.0] for t in texts]
    again = CountingEmbeddings()
    hybrid._embed_with_cache(again, texts, tmp_path, "toy")
    assert again.calls == []


def test_spanish_corpus_lists_each_term_once(kb) -> None:
    from core.nlp.textnorm import normalize

    items = [item for item in kb.retrieval_corpus("es", ("train",)) if item.source.startswith("codiesp")]
    keys = [(normalize(item.text), item.code) for item in items]
    assert keys and len(keys) == len(set(keys))
    hits = kb.retriever("es", ("train",)).search("insuficiencia cardiaca", k=10)
    shown = [(normalize(h.text), h.code) for h in hits]
    assert len(shown) == len(set(shown))
