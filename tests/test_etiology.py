"""Etiology / manifestation pairs, the index's "due to" and postprocedural subterms, Excludes1 degrees, sequelae and
the use-additional items a note names, on the real knowledge base (index, tabular list, dictionary), default path."""

from __future__ import annotations

import pytest
from convention_helpers import coded as codes
from convention_helpers import conventions_log as log
from convention_helpers import needs_data, note_coder

pytestmark = needs_data


@pytest.fixture(scope="module")
def code(kb):
    return note_coder(kb)


def test_the_index_see_also_pairs_the_cause_and_the_manifestation(code) -> None:
    result = code("Late-onset Alzheimer's disease with dementia; agitation and pacing in the evenings.")
    assert codes(result) == ["G30.1", "F02.811"]  # etiology first, the behaviour the note names, no R45.1
    assert any(row["rule"] == "code first" and row["code"] == "G30.1" for row in log(result))


def test_a_dementia_subterm_names_the_cause(code) -> None:
    assert set(codes(code("Dementia due to Parkinson's disease, no behavioral disturbance."))) == {"G20.A1", "F02.80"}
    assert set(codes(code("Demencia en la enfermedad de Parkinson, sin alteraciones de conducta.", "es"))) == {
        "G20.A1", "F02.80"}


def test_delirium_due_to_a_condition_is_f05(code) -> None:
    result = code("Delirium secondary to community-acquired pneumonia; reoriented by day 3.")
    assert set(codes(result)) == {"J18.9", "F05"}
    assert "F05" in set(codes(code("Delirium secundario a neumonía adquirida en la comunidad.", "es")))


def test_a_condition_after_a_procedure_is_the_postprocedural_code(code) -> None:
    assert codes(code("Hypothyroidism following total thyroidectomy for multinodular goiter; TSH 9.8.")) == ["E89.0"]
    assert codes(code("Hipotiroidismo tras tiroidectomía total; en tratamiento con levotiroxina.", "es")) == ["E89.0"]


def test_excludes1_keeps_dependence_over_abuse(code) -> None:
    result = code("History of alcohol abuse; now drinks daily with tolerance. Assessment: alcohol dependence, "
                  "uncomplicated.")
    assert codes(result) == ["F10.20"]  # no F10.10, and no intoxication (F10.129) the note never says
    assert codes(code("Antecedente de abuso de alcohol. Juicio clínico: dependencia alcohólica.", "es")) == ["F10.20"]


def test_a_residual_deficit_is_a_sequela_not_a_history(code) -> None:
    result = code("Prior stroke in 2019 with residual right-sided hemiparesis; patient is right-handed.")
    assert "I69.351" in codes(result) and "Z86.73" not in codes(result)
    assert "Z86.73" in codes(code("HTA. Antecedente de ictus isquémico en 2020, sin secuelas.", "es"))


def test_use_additional_codes_the_items_the_note_names(code) -> None:
    assert set(codes(code("Sequela of prior cerebral infarction: oropharyngeal dysphagia."))) == {"I69.391", "R13.12"}
    result = code("BPH with lower urinary tract symptoms: nocturia x3 and weak stream.")
    assert {"N40.1", "R35.1", "R39.12"} <= set(codes(result))


def test_a_manifestation_whose_code_first_names_the_coded_code(code) -> None:
    assert codes(code("DM2 con gastroparesia diabética; saciedad precoz y vómitos.", "es")) == ["E11.43", "K31.84"]
    result = code("Type 2 diabetes mellitus with chronic kidney disease stage 3a.")
    assert set(codes(result)) == {"E11.22", "N18.31"}  # no second stage from the "2" of "type 2"


def test_excludes1_keeps_what_the_assessment_says(code) -> None:
    result = code("HTA. Exfumadora desde 2016; reanudó el hábito y fuma 10 cigarrillos al día. Juicio clínico: "
                  "dependencia de nicotina (cigarrillos).", "es")
    assert "F17.210" in codes(result) and "Z87.891" not in codes(result)
