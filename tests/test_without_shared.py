"""A fresh machine without ../shared: the app still codes a note and says what is missing."""

from pathlib import Path

from core.kb.builder import KnowledgeBuilder
from core.ranking.registry import rankers_for
from core.settings import load_settings
from core.strategies.runner import code_note


def test_codes_a_note_with_pypi_resources_only(tmp_path: Path, base_settings):
    settings = load_settings(Path("/nonexistent.toml"), data_dir=tmp_path / "no-shared", backend="none",
                             embedding_model="none", cache_dir=base_settings.cache_dir, language="en",
                             strategy="deterministic")
    kb = KnowledgeBuilder(settings).build()
    notices = " ".join(kb.notices())
    assert "official alphabetical index not loaded" in notices
    assert "CodiEsp corpus" in notices
    assert kb.codiesp_root is None
    assert str(tmp_path / "no-shared") in notices  # the paths looked at, not those of a cached build elsewhere
    result = code_note("Type 2 diabetes mellitus without complications. Acute appendicitis.", settings, kb=kb)
    assert "E11.9" in {c.code for c in [*result.codes, *result.candidates]}
    # Without coded notes to calibrate scores, official terms are still coded, completed to billable codes, and
    # the bare word takes the title that means it ("Fever, unspecified", not "Other specified fever").
    # (Fever beside pneumonia would be an integral symptom, so it comes beside conditions it is no part of.)
    bare = code_note("Type 2 diabetes mellitus, hypertension and hyperlipidemia. Fever. No constipation.", settings,
                     kb=kb)
    assert {"E11.9", "I10", "E78.5", "R50.9"} <= {c.code for c in bare.codes}
    assert "K59.00" in {c.code for c in bare.candidates}  # negated: for review only
    spanish = code_note("Antecedentes: hipertensión arterial, diabetes mellitus tipo 2 y EPOC. Exfumador. "
                        "Ingresa por neumonía. No presenta insuficiencia cardiaca.",
                        settings.with_overrides(language="es"), kb=kb)
    # WHO Spanish titles (cie package) and the project's starter list of everyday wording
    assert {"I10", "E11.9", "J44.9", "Z87.891", "J18.9"} <= {c.code for c in spanish.codes}
    assert "I50.9" in {c.code for c in spanish.candidates}  # negated: for review only
    assert any(n.startswith("Starter terms (es)") for n in kb.notices())
    assert rankers_for(kb).get("en") is None


def test_every_starter_term_names_a_billable_code(tabular) -> None:
    from core.kb.terms import STARTER_TERMS, starter_terms
    from core.nlp.textnorm import term_key

    entries, info = starter_terms("es")
    assert info is not None and info.loaded and info.items == len(entries) >= 100
    assert STARTER_TERMS["es"].is_file()
    unusable = [(e.code, e.text) for e in entries if not tabular.is_billable(e.code) or not term_key(e.text, "es")]
    assert unusable == []
    codes_by_key: dict[tuple[str, ...], set[str]] = {}
    for entry in entries:
        codes_by_key.setdefault(term_key(entry.text, "es"), set()).add(entry.code)
    assert {k: v for k, v in codes_by_key.items() if len(v) > 1} == {}  # one wording, one code
