"""A symptom the provider's assessment leaves out, when it concludes a diagnosis, is not coded; uncertain
assessments, a poisoning's manifestations, symptoms a code's notes ask for and neurological deficits stay coded. On the
real knowledge base, with the default path (no LLM); the notes are written for these tests."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_a_complaint_the_assessment_leaves_out(code) -> None:
    result = codes(code("HPI: 3 days of fatigue and dysuria, no fever.\nA: UTI due to E. coli.\nP: nitrofurantoin."))
    assert {"N39.0", "B96.20"} <= result and "R53.83" not in result


def test_a_symptom_the_assessment_names_stays(code) -> None:
    result = codes(code("HPI: 3 days of fatigue and dysuria.\nA: UTI due to E. coli; fatigue, likely deconditioning."))
    assert {"N39.0", "R53.83"} <= result


def test_an_uncertain_assessment_keeps_the_symptoms(code) -> None:
    result = codes(code("Clinic: 60M c/o cough x4d and fever to 101.\nA: suspected CAP - CXR pending."))
    assert {"R05.1", "R50.9"} <= result


def test_symptoms_a_code_asks_for_and_a_poisonings_manifestations(code) -> None:
    result = codes(code("Urology: 66M c/o nocturia 3x/night x1 yr.\nA: BPH w/ LUTS - nocturia."))
    assert {"N40.1", "R35.1"} <= result
    result = codes(code("ED: 20F took 20 tabs of Tylenol to end her life. Now nausea and vomiting.\n"
                        "A: intentional APAP overdose."))
    assert {"T39.1X2A", "R11.2"} <= result


def test_a_switch_ends_the_first_drugs_long_term_use(code) -> None:
    result = codes(code("Clinic: 58M T2DM, A1c 10.2 on metformin; switched metformin -> insulin glargine 20 u qhs."))
    assert "Z79.4" in result and "Z79.84" not in result
