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
    from core.knowledge import get_knowledge

    return get_knowledge(base_settings)


@pytest.fixture(scope="session")
def tabular(base_settings: Settings):
    from core.kb.tabular import Tabular

    return Tabular.load(base_settings.cache_dir)
