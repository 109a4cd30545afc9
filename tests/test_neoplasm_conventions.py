"""Neoplasm conventions on the real knowledge base: the history of a malignancy by its site, therapy encounters in
their many wordings, sub-sites across a side abbreviation, secondary noun phrases, the index before the table,
excised primaries and screening. Short notes written for these tests, coded with the default path (no LLM)."""

from __future__ import annotations

import pytest
from convention_helpers import coded, needs_data, note_coder

pytestmark = needs_data


@pytest.fixture(scope="module")
def code(kb):
    return note_coder(kb)


def test_history_code_of_a_malignancy_follows_the_tabular_ranges(tabular) -> None:
    from core.rules.neoplasm_history import malignancy_history_code

    assert malignancy_history_code("family", "C18.9", tabular) == "Z80.0"  # colon: a digestive organ
    assert malignancy_history_code("family", "C34.90", tabular) == "Z80.1"
    assert malignancy_history_code("family", "C56.9", tabular) == "Z80.41"  # split by organ, no ranges
    assert malignancy_history_code("personal", "C20", tabular) == "Z85.048"
    assert malignancy_history_code("personal", "C67.9", tabular) == "Z85.51"
    assert malignancy_history_code("personal", "C78.7", tabular) == ""  # a secondary is no history category


def test_family_history_of_cancer_by_site(code) -> None:
    assert "Z80.0" in coded(code("Routine visit. His brother had stomach cancer at 60."))
    result = code("Annual exam. FHx: sister breast ca.")
    assert "Z80.3" in coded(result) and "Z80.9" not in coded(result)


def test_therapy_encounters_in_their_many_wordings(code) -> None:
    result = code("Seen in the infusion center for C2D1 of FOLFIRI. Adenocarcinoma of the cecum.")
    assert coded(result)[:1] == ["Z51.11"]
    result = code("Encounter for fraction 5 of 25 of external beam therapy for carcinoma of the prostate.")
    assert coded(result)[:1] == ["Z51.0"] and "C61" in coded(result)


def test_subsite_across_a_side_abbreviation_and_one_secondary_per_noun_phrase(code) -> None:
    result = code("Ductal carcinoma of the lower outer quadrant of the R breast with metastases to the thoracic spine.")
    assert {"C50.511", "C79.51"} <= set(coded(result)) and "C79.89" not in coded(result)


def test_the_morphology_index_entry_comes_before_the_table(code) -> None:
    result = code("Core biopsy: DCIS of the right breast.")
    assert "D05.11" in coded(result) and not {"D05.91", "C50.911"} & set(coded(result))


def test_an_excised_primary_is_history_beside_its_metastases(code) -> None:
    result = code("Lung metastases of colon adenocarcinoma; primary tumor resected in 2018, no further treatment.")
    assert {"C78.00", "Z85.038"} <= set(coded(result)) and "C18.9" not in coded(result)


def test_screening_needs_the_word_and_the_test_names_the_code(code) -> None:
    assert "Z12.11" in coded(code("Colonoscopia de cribado; sin pólipos.", language="es"))
    result = code("Work-up for weight loss: colonoscopy and mammogram normal.")
    assert not any(c.startswith("Z12") for c in coded(result))
