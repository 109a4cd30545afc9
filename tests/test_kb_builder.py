"""The knowledge base is made by a builder and read-only afterwards; ``with_options`` views share what is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.candidates.linker import DictionaryLinker
from core.kb.builder import KnowledgeBuilder
from core.kb.terms import TermEntry
from core.progress import noop_progress
from core.settings import load_settings


def test_builder_gives_sources_and_options_and_views_share_them(tmp_path: Path, tabular) -> None:  # noqa: ANN001
    settings = load_settings(Path("/nonexistent.toml"), data_dir=tmp_path / "no-shared", embedding_model="none",
                             backend="none", cache_dir=tmp_path / "cache")
    linker = DictionaryLinker("en", [TermEntry(text="hypertension", code="I10", source="learned")])
    kb = KnowledgeBuilder(settings, tabular=tabular, linkers={("en", ()): linker}).build()
    assert kb.tabular is tabular and kb.linker("en", ()) is linker
    assert kb.options.dense_policy == "background" and kb.options.progress is noop_progress

    waiting = kb.with_options(dense_policy="wait")
    assert waiting.options.dense_policy == "wait" and kb.options.dense_policy == "background"
    assert waiting.tabular is tabular and waiting.linker("en", ()) is linker and waiting.settings is settings

    with pytest.raises(AttributeError):
        kb.dense_policy = "wait"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        kb.tabular = tabular  # type: ignore[misc]
    with pytest.raises(ValueError):
        KnowledgeBuilder(settings, dense_policy="sometimes").build()
