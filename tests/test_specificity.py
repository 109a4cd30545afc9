"""The most specific code the note's words support, and one code per condition, on the real knowledge base: short
notes written for these tests, coded with the default path (no LLM)."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_infarction_type_and_artery_are_read(code) -> None:
    assert "I21.02" in codes(code("Dx: acute STEMI involving the LAD, taken for PCI."))
    result = codes(code("Juicio clínico: IAMSEST. Se inicia doble antiagregación.", language="es"))
    assert "I21.4" in result and "I21.3" not in result


def test_exacerbation_and_hypoxia_make_the_combination_code(code) -> None:
    result = codes(code("Juicio clínico: EPOC agudizada, se pauta prednisona.", language="es"))
    assert "J44.1" in result and "J44.9" not in result
    result = codes(code("Dx: acute hypoxic respiratory failure, on high-flow oxygen."))
    assert "J96.01" in result and "J96.00" not in result


def test_organism_named_by_the_code_is_not_coded_again(code) -> None:
    result = codes(code("ICU: septic shock due to MRSA pneumonia. MRSA grew in blood."))
    assert {"A41.02", "J15.212", "R65.21"} <= result
    assert not result & {"A41.9", "B95.62", "B95.61", "J15.211", "Z16.11"}


def test_opposite_titles_of_one_category_give_way(code) -> None:
    result = codes(code("Final dx: acute gastric ulcer with hemorrhage."))
    assert "K25.0" in result and not result & {"K25.3", "K25.4"}


def test_side_completes_a_read_code(code) -> None:
    result = codes(code("Dx acute suppurative otitis media, left ear. Amoxicillin x10d."))
    assert "H66.002" in result and not result & {"H66.42", "H66.92"}
