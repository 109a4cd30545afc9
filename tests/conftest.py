"""Shared pytest configuration. Markers are registered here so no engineer's ini file has to list them."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "protocol: talks to a local stand-in server speaking a third-party protocol")
    config.addinivalue_line("markers", "gpu: needs a GPU (skipped or deselected on CPU-only machines)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (real model runs, subprocess servers)")


# -- knowledge base fixtures (real data, built once and cached under the default cache dir) --------------------
from pathlib import Path  # noqa: E402

from core.settings import PROJECT_ROOT, Settings, load_settings  # noqa: E402

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "codiesp").is_dir(), reason=f"shared data not found at {SHARED_DATA}"
)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Real shared data, default cache dir, lexical retrieval only (the dense index over the full corpus is slow)."""
    return load_settings(Path("/nonexistent-config.toml"), data_dir=SHARED_DATA, embedding_model="none",
                         backend="none")


@pytest.fixture(scope="session")
def kb(base_settings: Settings):
    if not (SHARED_DATA / "icd10cm-2025-index").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from core.kb.knowledge import get_knowledge

    return get_knowledge(base_settings)


@pytest.fixture(scope="session")
def tabular(base_settings: Settings):
    from core.kb.tabular import Tabular

    return Tabular.load(base_settings.cache_dir)


# -- a small knowledge base for LLM-step tests (real tabular list, a handful of terms; no shared data needed) -----
MINI_TERMS_EN = {
    "type 2 diabetes mellitus": ["E11.9"],
    "type 1 diabetes mellitus": ["E10.9"],
    "hypertension": ["I10"],
    "heart failure": ["I50.9", "I50"],
    "chest pain": ["R07.9"],
    "fever": ["R50.9"],
    "alzheimer disease": ["G30.9"],
    "dementia in alzheimer disease": ["F02.80"],
}
MINI_TERMS_ES = {
    "diabetes mellitus tipo 2": ["E11.9"],
    "hipertension": ["I10"],
    "insuficiencia cardiaca": ["I50.9"],
    "dolor toracico": ["R07.9"],
    "fiebre": ["R50.9"],
}
MINI_LOW_CONFIDENCE = {"fever", "type 1 diabetes mellitus"}  # "index" prior 0.35 < code_threshold; others 0.8
MINI_CORPUS = [
    ("Heart failure", "I50"), ("Heart failure, unspecified", "I50.9"), ("Failure, heart, acute", "I50.9"),
    ("Acute systolic (congestive) heart failure", "I50.21"), ("Chest pain, unspecified", "R07.9"),
    ("Pain, chest", "R07.9"), ("Essential (primary) hypertension", "I10"), ("Hypertension", "I10"),
    ("Type 2 diabetes mellitus without complications", "E11.9"), ("Diabetes, type 2", "E11.9"),
    ("Type 1 diabetes mellitus without complications", "E10.9"), ("Fever, unspecified", "R50.9"),
    ("Dyspnea, unspecified", "R06.00"), ("Shortness of breath", "R06.02"), ("Cough, unspecified", "R05.9"),
    ("Dependence on other enabling machines and devices", "Z99.89"), ("Alzheimer's disease, unspecified", "G30.9"),
    ("Insuficiencia cardiaca", "I50.9"), ("Dolor toracico", "R07.9"), ("Disnea", "R06.00"),
]


@pytest.fixture(scope="session")
def mini_kb(tmp_path_factory: pytest.TempPathFactory, tabular):
    """A KnowledgeBase whose linkers and retrievers are built from the few terms above (fast, deterministic)."""
    from core.candidates.linker import DictionaryLinker
    from core.kb.builder import KnowledgeBuilder
    from core.kb.terms import TermEntry
    from core.retrieval.hybrid import CorpusItem, HybridRetriever

    root = tmp_path_factory.mktemp("mini-kb")
    settings = load_settings(Path("/nonexistent-config.toml"), data_dir=root / "no-shared-data", embedding_model="none",
                             backend="none", cache_dir=root / "cache")
    corpus = [CorpusItem(text, code, "tabular") for text, code in MINI_CORPUS]
    linkers, retrievers = {}, {}
    for language, terms in (("en", MINI_TERMS_EN), ("es", MINI_TERMS_ES)):
        entries = [TermEntry(text=text, code=code, source="index" if text in MINI_LOW_CONFIDENCE else "learned")
                   for text, codes in terms.items() for code in codes]
        linkers[(language, ())] = DictionaryLinker(language, entries)
        retrievers[(language, ())] = HybridRetriever.load_or_build(corpus, root / "cache", None)
    return KnowledgeBuilder(settings, tabular=tabular, linkers=linkers, retrievers=retrievers).build()
