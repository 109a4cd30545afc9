"""Conventions added in session 19: pregnancy (the chapter 15 code of a condition in pregnancy, trimester from the
weeks, gestational diabetes control, Z3A), withdrawal with dependence (F10.23-), dementia with agitation, a condition
resolved after treatment at a follow-up visit (history code, Z09), aftercare after a joint replacement (Z47.1), the
hypertensive disease with the stage the note gives (I12.0), and words that are no condition ("Tdap", "cut down"). On
the real knowledge base, with the default path (no LLM); the notes are written for these tests."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_a_condition_in_pregnancy_gets_its_chapter_15_code_and_the_weeks(code) -> None:
    result = codes(code("Prenatal visit, 30yo G2P1 at 24w3d. Moderate persistent asthma on budesonide inhaler.\n"
                        "A/P: IUP 24 wks; asthma complicating pregnancy, stable."))
    assert {"O99.512", "J45.40", "Z3A.24"} <= result and not any(c.startswith("O30") for c in result)
    result = codes(code("Gestante de 34 a, primigesta, 16 semanas. HTA esencial previa al embarazo en tto con "
                        "labetalol.", language="es"))
    assert {"O10.012", "Z3A.16"} <= result and "I10" not in result


def test_gestational_diabetes_reads_its_control_and_delivery(code) -> None:
    result = codes(code("OB visit, 29yo G1P0 at 31w0d. GDM on insulin NPH 8 u qHS, fastings at goal."))
    assert {"O24.414", "Z3A.31"} <= result and "O24.419" not in result and "Z79.4" not in result
    result = codes(code("L&D summary: 33yo G1 at 38w2d with severe preeclampsia; IOL -> SVD of liveborn male.\n"
                        "BP 168/112, headache, proteinuria."))
    assert "O14.14" in result and not {"R51.9", "R80.9"} & result


def test_a_denied_pregnancy_is_no_pregnancy(code) -> None:
    result = codes(code("Urgent care: 25F dysuria. Not pregnant (UPT neg). Dx: acute cystitis due to E. coli."))
    assert not any(c.startswith("O") for c in result)


def test_withdrawal_with_dependence_is_one_code(code) -> None:
    result = codes(code("ED: alcohol dependence, drinks a pint of vodka daily, last drink 20 h ago. Tremulous. "
                        "No hallucinations, no seizures.\nDx: alcohol withdrawal."))
    assert "F10.230" in result and "F10.20" not in result and "R25.1" not in result
    result = codes(code("Psych: alcohol dependence, not in withdrawal today, CIWA 1."))
    assert "F10.20" in result and not any(c.startswith("F10.23") for c in result)
    result = codes(code("Opioid use disorder, severe (IV heroin); in active withdrawal, COWS 12."))
    assert "F11.23" in result and "F11.20" not in result


def test_dementia_with_agitation(code) -> None:
    result = codes(code("Alzheimer's disease, late onset, with moderate dementia; agitation in the evenings."))
    assert {"G30.1", "F02.B11"} <= result and "R45.1" not in result


def test_a_condition_resolved_after_treatment_at_a_follow_up_visit(code) -> None:
    result = codes(code("PCP f/u 2 wks after tx of LLL pneumonia, completed amoxicillin. Lungs clear.\n"
                        "A: pneumonia resolved."))
    assert result == {"Z09", "Z87.01"}
    result = codes(code("Discharge summary: sepsis due to pneumonia; AKI resolved with IV fluids."))
    assert "N17.9" in result and "Z09" not in result  # resolved during the stay: coded


def test_aftercare_after_a_joint_replacement(code) -> None:
    result = codes(code("Ortho post-op visit: 2 wks s/p L total knee arthroplasty for primary OA. Staples out."))
    assert {"Z47.1", "Z96.652"} <= result and not any(c.startswith("M17") for c in result)


def test_hypertensive_kidney_disease_with_end_stage(code) -> None:
    result = codes(code("Problem list: ESRD 2/2 hypertensive nephrosclerosis, HD MWF."))
    assert {"I12.0", "N18.6", "Z99.2"} <= result and "I12.9" not in result


def test_words_that_are_no_condition(code) -> None:
    result = codes(code("ED: 30M cut L forearm on glass at work, 2 cm lac. Last tetanus >10 y - Tdap given. "
                        "Suture removal in 10 d."))
    assert "Z23" in result and "A35" not in result and "Z48.02" not in result
    assert any(c.startswith("S51.812") for c in result)
    assert not any(c.startswith("S") for c in codes(code("Alcohol use, trying to cut down. Cut back on salt.")))


def test_a_diagnosis_wins_an_excludes1_pair_over_its_symptom(code) -> None:
    result = codes(code("Dx: orthostatic hypotension with syncope, due to dehydration."))
    assert "I95.1" in result and "R55" not in result
