"""Conventions added in session 25: the dominant side of a hemiplegia (stated or by default), a dementia's severity
and the dementia a delirium is superimposed on, a diabetic foot ulcer beside another diabetic complication, a
leukemia's phase, a follow-up visit after completed treatment (Z09), a symptom the note says resolved, and a drug level
written with a decimal point. On the real
knowledge base, with the default path (no LLM); the notes are written for these tests."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_hemiplegia_dominance_stated_and_by_default(code) -> None:
    stated = codes(code("PM&R f/u. 74M, R MCA ischemic stroke 5/2024 w/ residual L hemiparesis; pt is R-hand "
                        "dominant. Ambulates w/ hemiwalker."))
    assert "I69.354" in stated and "I69.352" not in stated
    left_handed = codes(code("ED: acute left hemiparesis, unknown cause, workup pending. Left-handed."))
    assert "G81.92" in left_handed and "G81.94" not in left_handed
    default = codes(code("ED: acute left hemiparesis, unknown cause, workup pending."))
    assert "G81.94" in default and "G81.92" not in default


def test_dementia_severity_and_the_dementia_under_a_delirium(code) -> None:
    result = codes(code("Memory clinic. A: Alzheimer's dementia, late onset, moderate stage, w/ agitation."))
    assert {"G30.1", "F02.B11"} <= result and "F02.811" not in result
    result = codes(code("86F w/ dementia (type not specified, mild; baseline pleasant) admitted for E. coli UTI. "
                        "Imp: delirium superimposed on dementia, 2/2 UTI."))
    assert {"F05", "F03.A0"} <= result


def test_a_diabetic_foot_ulcer_beside_another_complication(code) -> None:
    result = codes(code("66M w/ T2DM on insulin glargine 30u qhs, known diabetic PAD (ABI 0.6 on R).\n"
                        "R plantar midfoot ulcer 2.1 x 1.8 cm, subcutaneous fat exposed, no tendon/bone visible."))
    assert {"E11.51", "E11.621", "L97.412"} <= result


def test_a_leukemias_phase(code) -> None:
    result = codes(code("HEME/ONC CLINIC\n52F w/ AML (FLT3-ITD+), s/p matched-sibling allogeneic SCT 3/2023.\n"
                        "BM bx 10/2024: 18% myeloblasts -> AML in first relapse post-transplant."))
    assert "C92.02" in result and "C92.00" not in result
    result = codes(code("CLL dx 2021, s/p FCR x6, in complete remission since 2022, MRD neg."))
    assert "C91.11" in result and "C91.10" not in result


def test_follow_up_after_completed_treatment_and_a_resolved_symptom(code) -> None:
    result = codes(code("Telehealth f/u\n49F treated 6 wk ago for RML CAP, completed 7 d levofloxacin. Cough "
                        "resolved, no fever, back to work.\nA: pneumonia, resolved. No further w/u, RTC PRN."))
    assert result == {"Z09", "Z87.01"}


def test_a_drug_level_with_a_decimal_point_is_no_sentence_end(code) -> None:
    result = codes(code("TRANSPLANT NEPHROLOGY\n51M, DDKT 2020, graft fxn stable.\n"
                        "IS: tacrolimus (trough 6.2), mycophenolate 500 mg BID, prednisone 5 mg daily."))
    assert {"Z94.0", "Z79.621", "Z79.624", "Z79.52"} <= result

