"""Each convention family the reconciler applies, on the real knowledge base (index, tabular list, dictionary): short
notes written for these tests, coded with the default path (no LLM)."""

from __future__ import annotations

import pytest
from convention_helpers import conventions_log, needs_data, note_coder

pytestmark = needs_data


@pytest.fixture(scope="module")
def code(kb):
    return note_coder(kb)


def codes(result) -> set[str]:
    return {c.code for c in result.codes}


def reconciler_log(result) -> list[dict]:
    return conventions_log(result)


# -- "with": conditions the index links --------------------------------------------------------------------------
def test_hypertension_with_ckd_is_one_combination_and_the_stage(code) -> None:
    result = code("Assessment: hypertension. Chronic kidney disease stage 3b, followed by nephrology.")
    assert {"I12.9", "N18.32"} <= codes(result) and "I10" not in codes(result)
    i12 = next(c for c in result.codes if c.code == "I12.9")
    assert "Hypertension" in i12.rationale and "→ I12.9" in i12.rationale  # the index path is the rationale
    absorbed = next(c for c in result.candidates if c.code == "I10")
    assert "absorbed by I12.9" in absorbed.rationale


def test_hypertension_heart_failure_and_ckd_link_across_the_note(code) -> None:
    result = code("Admitted with acute on chronic systolic heart failure. Comorbidities: hypertension, CKD stage 3a.")
    assert {"I13.0", "I50.23", "N18.31"} <= codes(result)
    assert not codes(result) & {"I10", "I11.0", "I12.9", "I50.9"}


def test_diabetes_with_ckd_in_another_sentence(code) -> None:
    result = code("67 yo F with type 2 diabetes, A1c 6.9%. Separately, she has stage 4 chronic kidney disease.")
    assert {"E11.22", "N18.4"} <= codes(result) and "E11.9" not in codes(result)


def test_a_note_saying_the_conditions_are_unrelated_keeps_them_apart(code) -> None:
    result = code("Essential hypertension, controlled. CKD stage 3a; the kidney disease is not due to her hypertension.")
    assert {"I10", "N18.31"} <= codes(result) and "I12.9" not in codes(result)


def test_hypertension_and_coronary_disease_is_no_hypertensive_heart_disease(code) -> None:
    result = code("PMH: HTN, CAD.")
    assert {"I10", "I25.10"} <= codes(result) and "I11.9" not in codes(result)


def test_spanish_notes_combine_through_codes(code) -> None:
    result = code("Antecedentes personales: HTA. ERC estadio 3b en seguimiento por Nefrología.", "es")
    assert {"I12.9", "N18.32"} <= codes(result) and "I10" not in codes(result)


# -- one condition, one code -------------------------------------------------------------------------------------
def test_specific_code_absorbs_the_unspecified_one(code) -> None:
    result = code("HPI: known heart failure.\nAssessment: acute on chronic diastolic heart failure.")
    assert "I50.33" in codes(result) and "I50.9" not in codes(result)
    assert any(row["code"] == "I50.9" and row["by"] == "I50.33" for row in reconciler_log(result))


def test_an_abbreviation_names_the_specific_code(code) -> None:
    result = code("PMH: HFpEF.")
    assert "I50.30" in codes(result) and "I50.9" not in codes(result)


def test_generic_words_inside_a_longer_term_are_not_coded(code) -> None:
    result = code("Chronic kidney disease stage 3b.")
    assert "N18.32" in codes(result) and not codes(result) & {"R69", "N28.9", "N18.9"}


# -- abbreviations and nonessential words ---------------------------------------------------------------------------
def test_a_problem_list_of_abbreviations(code) -> None:
    result = code("PMH: HTN, HLD, DM2, CAD s/p CABG, OSA on CPAP.")
    assert {"I10", "E78.5", "E11.9", "I25.10", "Z95.1", "G47.33"} <= codes(result)


def test_an_unsettled_abbreviation_is_not_coded(code) -> None:
    result = code("PE: lungs clear bilaterally, RRR, no edema.\nA/P: HTN, controlled.")
    assert codes(result) == {"I10"}


def test_a_parenthesised_nonessential_word_does_not_block_the_term(code) -> None:
    result = code("Assessment: acute on chronic systolic (congestive) heart failure.")
    assert "I50.23" in codes(result) and "I50.9" not in codes(result)


# -- history, family, status --------------------------------------------------------------------------------------
def test_history_codes_replace_past_conditions(code) -> None:
    result = code("HTN. h/o TIA 2022 without residual deficits; h/o DVT 2019, completed treatment. Former smoker.")
    assert {"I10", "Z86.73", "Z86.718", "Z87.891"} <= codes(result)
    assert not codes(result) & {"G45.9", "I82.409", "I82.90", "F17.210", "F17.200"}


def test_a_chronic_condition_listed_as_history_stays_current(code) -> None:
    assert "I10" in codes(code("History of hypertension, on lisinopril."))


def test_family_history_is_coded_as_such(code) -> None:
    result = code("Type 2 diabetes. Family history: mother with breast cancer.")
    assert {"E11.9", "Z80.3"} <= codes(result) and not any(c.startswith("C50") for c in codes(result))


def test_status_codes_from_medications(code) -> None:
    result = code("Type 2 diabetes. Meds: metformin 1000 mg BID, insulin glargine 20 units nightly.")
    assert {"Z79.4", "Z79.84"} <= codes(result)


def test_no_insulin_status_with_type_1_diabetes(code) -> None:
    assert "Z79.4" not in codes(code("Type 1 diabetes on insulin pump."))


def test_bmi_only_with_a_weight_diagnosis(code) -> None:
    assert {"E66.01", "Z68.41"} <= codes(code("Morbid obesity, BMI 42.1."))
    assert not any(c.startswith("Z68") for c in codes(code("BMI 31 today. Hypertension, controlled.")))


# -- negation and uncertainty -------------------------------------------------------------------------------------
def test_negated_and_ruled_out_conditions_are_not_coded(code) -> None:
    result = code("Chest pain. Troponins negative x2; myocardial infarction ruled out. Denies shortness of breath.")
    assert "R07.9" in codes(result) and not any(c.startswith(("I21", "R06")) for c in codes(result))


def test_an_outpatient_suspicion_is_not_coded_as_established(code) -> None:
    result = code("Office visit. Cough for 3 days. Probable pneumonia; chest x-ray ordered.")
    assert "J18.9" not in codes(result)


def test_the_emergency_department_codes_the_symptom_of_a_suspected_condition(code) -> None:
    result = code("ED: right lower quadrant abdominal pain since noon. Suspect appendicitis; surgery to see.")
    assert "R10.31" in codes(result) and not any(c.startswith(("K35", "K37")) for c in codes(result))


# -- instructional notes, specificity ------------------------------------------------------------------------------
def test_septic_shock_brings_the_systemic_infection_first(code) -> None:
    result = code("Septic shock due to urinary tract infection, on norepinephrine.")
    assert [c.code for c in result.codes][0] == "A41.9" and {"R65.21", "N39.0"} <= codes(result)


def test_integral_symptoms_are_not_coded_with_their_diagnosis(code) -> None:
    result = code("Dysuria and urinary frequency for 2 days. Assessment: urinary tract infection.")
    assert codes(result) == {"N39.0"}


def test_fever_is_part_of_an_acute_infection(code) -> None:
    result = code("Fever 39.1 C and vomiting. Assessment: acute cholecystitis, IV antibiotics started.")
    assert "K81.0" in codes(result) and "R50.9" not in codes(result)


def test_breathlessness_is_part_of_asthma_and_copd(code) -> None:
    result = code("Shortness of breath and wheezing for 2 days. Assessment: asthma, on albuterol.")
    assert any(c.startswith("J45") for c in codes(result)) and not any(c.startswith("R06") for c in codes(result))


def test_the_pain_of_an_inflamed_part_is_part_of_its_inflammation(code) -> None:
    result = code("Chest wall pain, tender over the left costal cartilages. Assessment: costochondritis.")
    assert "M94.0" in codes(result) and not any(c.startswith(("R07", "R52")) for c in codes(result))


def test_laterality_from_the_side_the_note_names(code) -> None:
    assert "L03.116" in codes(code("Assessment: cellulitis of the left lower leg."))


def test_ckd_stage_and_heart_failure_type_are_read_around_the_condition(code) -> None:
    result = code("Acute on chronic HFrEF. CKD 3b.")
    assert {"I50.23", "N18.32"} <= codes(result)


def test_the_encounter_character_follows_the_note(code) -> None:
    result = code("Follow-up for right ankle sprain, improving.")
    assert any(c.startswith("S93.4") and c.endswith("D") for c in codes(result))


def test_the_reconciler_can_be_switched_off_to_measure_it(code) -> None:
    note = "Assessment: hypertension. Chronic kidney disease stage 3b."
    assert "I12.9" not in codes(code(note, reconciler=False))
    assert not any(t.step == "conventions" for t in code(note, reconciler=False).trace)


# -- neoplasms through the Neoplasm Table (I.C.2) --------------------------------------------------------------------
def test_table_reads_site_subsite_side_and_the_metastasis_words(kb) -> None:
    from core.rules.neoplasm import read_clause, table_words

    text = "Adenocarcinoma of the left upper lobe of the lung metastatic to the liver and bones."
    found = {(f.code, f.column) for f in read_clause(text, 0, len(text), table_words(kb.index, "en"), "en")}
    assert found == {("C34.1-", "Malignant Primary"), ("C78.7", "Malignant Secondary"),
                     ("C79.51", "Malignant Secondary")}


def test_primary_and_secondary_sites_are_each_coded_with_side(code) -> None:
    result = code("Poorly differentiated adenocarcinoma of the right lower lobe of the lung with brain metastases.")
    assert {"C34.31", "C79.31"} <= codes(result)
    assert not codes(result) & {"C34.91", "C34.90", "C78.01", "C78.00", "C71.9"}
    # the Neoplasm Table gives the primary: read by the dictionary (its sites include "lower lobe") or by the rule
    primary = next(c for c in result.codes if c.code == "C34.31")
    assert "neoplasm-table" in primary.rationale or any(e["rule"] == "neoplasm table" for e in reconciler_log(result))


def test_metastases_from_a_named_site_make_it_the_primary(code) -> None:
    result = code("Lung metastases from adenocarcinoma of the prostate.")
    assert {"C78.00", "C61"} <= codes(result) and "C79.82" not in codes(result)


def test_unknown_primary_adds_c80_1_only_when_stated(code) -> None:
    assert {"C79.51", "C80.1"} <= codes(code("Bone metastases; unknown primary despite full workup."))
    assert "C80.1" not in codes(code("Bone metastases seen on the bone scan."))


def test_encounter_for_chemotherapy_is_listed_first(code) -> None:
    result = code("Presents for chemotherapy, cycle 4. Carcinoma of the head of the pancreas.")
    assert [c.code for c in result.codes][:1] == ["Z51.11"] and "C25.0" in codes(result)
    assert "Z51.11" not in codes(code("Carcinoma of the head of the pancreas, chemotherapy completed last year."))


def test_spanish_neoplasm_statements(code) -> None:
    result = code("Adenocarcinoma de recto con metástasis hepáticas y pulmonares.", language="es")
    assert {"C20", "C78.7", "C78.00"} <= codes(result)
    result = code("Paciente que ingresa para radioterapia por carcinoma de mama izquierda, cuadrante superointerno.",
                  language="es")
    assert [c.code for c in result.codes][:1] == ["Z51.0"] and "C50.212" in codes(result)


# -- pressure ulcers: one code with site, side and stage (I.C.12.a) ----------------------------------------------------
def test_pressure_ulcer_reads_site_side_and_stage_per_part_of_the_sentence() -> None:
    from core.rules.pressure_ulcer import read_ulcers, ulcer_words

    text = "Wound care: right heel pressure ulcer stage 3; sacral decubitus unstageable."
    ulcers = read_ulcers(text, 0, len(text), ulcer_words("en"), "en")
    assert [(u.site, u.side, u.stage) for u in ulcers] == [("heel", "right", "stage 3"),
                                                            ("sacral region", "", "unstageable")]


def test_pressure_ulcer_codes_and_not_an_injury_or_skin_ulcer(code) -> None:
    result = code("Pressure injury of the right ankle, stage 2, and a deep tissue injury of the left heel.")
    assert {"L89.512", "L89.626"} <= codes(result)
    assert not {c for c in codes(result) if c.startswith(("S", "L97", "L98"))}
    assert codes(code("Bedsore of the left buttock, stage not documented.")) >= {"L89.329"}


def test_spanish_pressure_ulcers(code) -> None:
    assert {"L89.014"} <= codes(code("Úlcera por presión en codo derecho, grado IV.", language="es"))
    assert {"L89.156"} <= codes(code("Lesión de tejidos profundos por presión en región sacra.", language="es"))
