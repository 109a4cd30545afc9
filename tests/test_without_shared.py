"""A fresh machine without ../shared: the app still codes a note and says what is missing."""

from pathlib import Path

from core.knowledge import KnowledgeBase
from core.pipeline.runner import code_note
from core.settings import load_settings


def test_codes_a_note_with_pypi_resources_only(tmp_path: Path, base_settings):
    settings = load_settings(Path("/nonexistent.toml"), data_dir=tmp_path / "no-shared", backend="none",
                             embedding_model="none", cache_dir=base_settings.cache_dir, language="en",
                             strategy="deterministic")
    kb = KnowledgeBase(settings)
    notices = " ".join(kb.notices())
    assert "official alphabetical index not loaded" in notices
    assert "CodiEsp corpus" in notices
    assert kb.codiesp_root is None
    assert str(tmp_path / "no-shared") in notices  # the paths looked at, not those of a cached build elsewhere
    result = code_note("Type 2 diabetes mellitus without complications. Acute appendicitis.", settings, kb=kb)
    assert "E11.9" in {c.code for c in [*result.codes, *result.candidates]}
    # Without coded notes to calibrate scores, official terms are still coded, completed to billable codes, and
    # the bare word takes the title that means it ("Fever, unspecified", not "Other specified fever").
    bare = code_note("Type 2 diabetes mellitus, hypertension and pneumonia. Fever. No constipation.", settings, kb=kb)
    assert {"E11.9", "I10", "J18.9", "R50.9"} <= {c.code for c in bare.codes}
    assert "K59.00" in {c.code for c in bare.candidates}  # negated: for review only
    spanish = code_note("Diabetes mellitus tipo 2.", settings.with_overrides(language="es"), kb=kb)
    assert spanish.trace  # runs (WHO Spanish descriptions from the cie package), even if it finds little
    assert kb.ranker("en") is None
