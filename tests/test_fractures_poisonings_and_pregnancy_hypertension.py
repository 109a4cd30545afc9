"""Conventions added in session 23: a fracture osteoporosis or a neoplasm caused (M80, M84.5), a poisoning by a drug the
Table of Drugs lists under its class or taken twice in error, pre-eclampsia on a pre-existing hypertension (O11 with
O10), the degree of a use disorder DSM-5 states (mild is abuse), vaping (F17.290), the finger or metacarpal a note
names, an unspecified pain explained by the diagnosis of its sentence, one hypertensive disease one code, the side of
"b/l" and of an eye heading ("OS:"), a chemotherapy planned for later, a kidney transplant written "KT", a port, and
a trigger inside a closed parenthesis. On the real knowledge base, with the default path (no LLM); the notes are
written for these tests."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_a_fracture_osteoporosis_or_a_neoplasm_caused(code) -> None:
    result = codes(code("Clinic: 78F w/ osteoporosis, new L1 compression fx, osteoporotic, no trauma. Start "
                        "zoledronic acid."))
    assert "M80.08XA" in result and not result & {"M81.0", "M48.50XA", "S32.010A"}
    result = codes(code("ED: 70F w/ osteoporosis, L2 compression fx after a high-energy MVC. CKD (renal insufficiency)."))
    assert not any(c.startswith("M80") for c in result)
    result = codes(code("OP NOTE: pathologic fracture of T10 vertebra due to metastatic breast carcinoma. Kyphoplasty."))
    assert "M84.58XA" in result
    result = codes(code("Fractura vertebral osteoporótica de L2 tras esfuerzo mínimo. Se pauta teriparatida.",
                        language="es"))
    assert "M80.08XA" in result


def test_a_poisoning_by_a_drug_the_table_lists_by_class_or_taken_in_error(code) -> None:
    result = codes(code("ED: 22F ingested ~20 sertraline 50 mg tabs in a suicide attempt. HR 118."))
    assert "T43.222A" in result and "T14.91XA" not in result
    assert "T39.1X2A" in codes(code("ED: ingested 40 acetaminophen 500 mg tabs after an argument, stated intent to "
                                    "die. NAC started."))
    result = codes(code("Urgencias: FA en tratamiento con Sintrom. Por error ha tomado el doble de la dosis 3 días. "
                        "Hematuria.", language="es"))
    assert "T45.511A" in result


def test_pre_eclampsia_on_a_pre_existing_hypertension(code) -> None:
    result = codes(code("OB triage: G2P1 at 33w1d with chronic HTN before pregnancy, now BP 162/108 and proteinuria: "
                        "superimposed preeclampsia. Admit, Mg."))
    assert {"O11.3", "O10.013", "Z3A.33"} <= result and not result & {"I10", "O14.13", "O14.93"}


def test_the_degree_a_use_disorder_states(code) -> None:
    assert "F12.10" in codes(code("Cannabis use disorder, mild - daily use; counseled."))
    assert "F10.20" in codes(code("Alcohol use disorder, severe. Naltrexone started."))
    assert "F14.21" in codes(code("Antecedente de dependencia de cocaína, en remisión sostenida desde hace 3 años.",
                                  language="es"))
    result = codes(code("Nicotine dependence - vapes daily (e-cig). NRT offered."))
    assert "F17.290" in result and "F17.210" not in result


def test_the_finger_or_metacarpal_the_note_names(code) -> None:
    assert "M65.342" in codes(code("Hand clinic: trigger finger L ring finger, painful catching. Steroid injection."))
    assert "S62.366A" in codes(code("ED: fell on R hand. XR: nondisplaced fx of 5th metacarpal neck, R hand. Splint."))


def test_a_pain_its_sentence_explains_and_one_hypertensive_disease(code) -> None:
    result = codes(code("Derm: painful grouped vesicles on upper lip x2d: herpes labialis. Acyclovir."))
    assert "R52" not in result
    result = codes(code("Nephrology: hypertensive nephrosclerosis, CKD 4, anemia of CKD. Start darbepoetin."))
    assert {"I12.9", "N18.4", "D63.1"} <= result and "I10" not in result
    result = codes(code("Nefrología: ERC estadio 5 por nefroangiosclerosis (HTA), en HD 3 sesiones/sem.",
                        language="es"))
    assert {"I12.0", "N18.6"} <= result and "N18.5" not in result


def test_the_side_of_b_l_and_of_an_eye_heading(code) -> None:
    assert "G56.03" in codes(code("EMG: b/l carpal tunnel syndrome, moderate R, mild L. Night splints."))
    result = codes(code("Ophtho: OD pseudophakic.\nOS: age-related nuclear cataract, visually significant."))
    assert {"H25.12", "Z96.1"} <= result and "H26.9" not in result
    result = codes(code("Oftalmología. OD pseudofáquico.\nOI: catarata nuclear senil, AV 0,3.", language="es"))
    assert "H25.12" in result


def test_a_chemotherapy_planned_for_later_is_not_this_encounter(code) -> None:
    result = codes(code("Oncology f/u: RUL adenocarcinoma w/ brain mets. Plan: C1 carboplatin/pemetrexed next wk."))
    assert "Z51.11" not in result
    result = codes(code("Infusion center: classical Hodgkin lymphoma. Here for C2D1 ABVD via R chest port-a-cath."))
    assert {"Z51.11", "Z95.828"} <= result


def test_status_words_and_a_closed_parenthesis(code) -> None:
    result = codes(code("Sick visit: s/p deceased donor KT 2018 on tacrolimus 3 mg BID. Viral URI."))
    assert "Z94.0" in result and "Z52.9" not in result
    result = codes(code("HF clinic: nonischemic CMP (cath 2021 w/o obstructive CAD), chronic combined systolic + "
                        "diastolic HF. s/p CRT-D."))
    assert {"I50.42", "Z95.810"} <= result
