"""The "Retrain from coder decisions" section of the Audit page under streamlit.testing: the error with no submitted
charts, the before/after table after retraining, and restoring the previous model. The page runs over small
synthetic CodiEsp folders with toy dictionaries (tests/retrain_helpers.py), so a retrain takes seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from retrain_helpers import add_decisions, make_kb, submit, use_small_boosting, write_codiesp
from streamlit.testing.v1 import AppTest

import core.kb.knowledge
from core.kb.knowledge import KnowledgeBase, register_knowledge
from core.ranking.ranker import RankerModel
from core.ranking.registry import rankers_for
from core.settings import load_settings
from core.store import DecisionStore

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "3_Audit.py")


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tabular) -> tuple[KnowledgeBase, DecisionStore, str]:  # noqa: ANN001
    """Settings from the environment (as the app reads them) over synthetic data, a private cache and state dir,
    and the knowledge base the page will get from ``get_knowledge`` prepared with toy dictionaries."""
    dev_text = write_codiesp(tmp_path / "data")
    env = {"CONFIG": str(tmp_path / "no-config.toml"), "STATE_DIR": str(tmp_path / "state"),
           "CACHE_DIR": str(tmp_path / "cache"), "DATA_DIR": str(tmp_path / "data"), "LANGUAGE": "es",
           "BACKEND": "none", "EMBEDDING_MODEL": "none"}
    for name, value in env.items():
        monkeypatch.setenv(f"CODER_{name}", value)
    monkeypatch.delenv("CODER_DB_URL", raising=False)
    monkeypatch.delenv("CODER_DICTIONARY_SPLITS", raising=False)
    monkeypatch.setattr(core.kb.knowledge, "_KB", {})  # a registry of this test's own, dropped afterwards
    use_small_boosting(monkeypatch)
    settings = load_settings()
    kb = register_knowledge(make_kb(settings, tabular))  # what the page's get_knowledge answers
    return kb, DecisionStore(settings.database_url), dev_text


def _text(at: AppTest) -> str:
    return "\n".join([*(m.value for m in at.markdown), *(c.value for c in at.caption)])


def test_retrain_with_no_submitted_charts_shows_an_error(page_env) -> None:  # noqa: ANN001
    kb, _, _ = page_env
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert "Spanish (CIE-10-ES) **0**" in _text(at)
    at.button(key="retrain_run").click().run()
    assert not at.exception, at.exception
    assert any("No submitted charts in 'es'" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.dataframe  # no decisions, so no decision table either, and no before/after table
    assert not rankers_for(kb).path("es", ("dev", "train")).exists()


def test_retrain_button_shows_before_after_table_and_restores(page_env) -> None:  # noqa: ANN001
    kb, store, dev_text = page_env
    old = rankers_for(kb).get("es")  # the app's current model, saved before the coders' feedback
    add_decisions(store, 8)
    submit(store, dev_text, ["R05.9"])  # a dev case charted in the app: left out of training
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert "Spanish (CIE-10-ES) **9**" in _text(at)
    assert not [b for b in at.button if b.key == "retrain_restore"], "no previous model yet"

    at.button(key="retrain_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[-1].value
    if hasattr(table, "data"):  # a pandas Styler
        table = table.data
    assert list(table.columns) == ["metric", "before", "after", "change"]
    assert {"full-code F1", "category F1", "full-code P", "full-code R", "MAP"} <= set(table["metric"])
    assert all(str(change)[0] in "▲▼=" for change in table["change"])
    text = _text(at)
    assert "Before / after on dev" in text and "8 of 9 submitted charts used" in text and "1 left out" in text
    path = rankers_for(kb).path("es", ("dev", "train"))
    new = RankerModel.load(path)
    assert new.trained_on == ["codiesp:dev+train", "decision-store"] and rankers_for(kb).get("es").fingerprint == new.fingerprint

    at.button(key="retrain_restore").click().run()
    assert not at.exception, at.exception
    assert any("Restored" in s.value for s in at.success), [s.value for s in at.success]
    assert RankerModel.load(path).fingerprint == old.fingerprint == rankers_for(kb).get("es").fingerprint
