"""Conventions read from the index walk and the note's context (session 17): fracture sites written as adjectives,
ordinals and parts of a bone, "see" and "see also" references, external causes by kind, past joint replacements and
immunosuppressants, surveillance after a malignancy, organisms of a pneumonia, secondary varices, one asthma. On the
real knowledge base, with the default path (no LLM); the notes are written for these tests."""

from __future__ import annotations

import pytest
from convention_helpers import code_set as codes
from convention_helpers import needs_data, note_coder

pytestmark = needs_data
code = pytest.fixture(scope="module")(lambda kb: note_coder(kb))


def test_fracture_sites_written_as_adjectives_ordinals_and_bone_parts(code) -> None:
    assert "S82.202A" in codes(code("ED: left tibial shaft fracture after a fall down the stairs."))
    assert "S92.354A" in codes(code("XR: nondisplaced fx R 5th metatarsal shaft. Boot, crutches."))
    assert "S82.142A" in codes(code("ED: displaced left tibial plateau fracture."))  # tibia > upper end > plateau
    result = codes(code("Hand clinic: nondisplaced fracture of the middle third of the left scaphoid."))
    assert "S62.025A" in result  # scaphoid (see also carpal, navicular) > middle third
    result = codes(code("Ingreso: fractura pertrocantérea de fémur derecho, cerrada.", language="es"))
    assert "S72.141A" in result and "S72.101A" not in result


def test_a_device_or_a_kind_of_thing_in_the_external_cause_walk(code) -> None:
    result = codes(code("F/u 8 wks s/p IM nail for closed displaced transverse fracture R tibial shaft, healing well."))
    assert "S82.221D" in result and not any(c.startswith("W45") for c in result)
    result = codes(code("UC: tripped over the cat at home, landed on the right knee. Dx: contusion R knee."))
    assert {"S80.01XA", "W01.0XXA"} <= result


def test_an_unspecified_injury_gives_way_to_the_named_one(code) -> None:
    result = codes(code("ED: struck head on a cabinet door. No LOC. Dx: concussion without loss of consciousness. "
                        "Head injury precautions given."))
    assert "S06.0X0A" in result and not result & {"S09.90XA", "S06.0X9A"}


def test_past_joint_replacement_immunosuppressants_and_hysterectomy(code) -> None:
    assert "Z96.652" in codes(code("PMH: HTN. s/p L TKA 2019, doing well."))
    assert "Z96.651" not in codes(code("Pre-op evaluation prior to R TKA for primary OA of the right knee."))
    result = codes(code("Renal transplant 2020. Meds: tacrolimus 2 mg BID, mycophenolate 500 mg BID."))
    assert {"Z94.0", "Z79.621", "Z79.624"} <= result
    assert {"Z90.710", "Z90.722"} <= codes(code("PSH: TAH-BSO 2012 for endometriosis."))


def test_surveillance_after_a_malignancy_and_a_current_one(code) -> None:
    result = codes(code("Indication: surveillance colonoscopy. Hx of rectal adenocarcinoma s/p LAR 2019, no "
                        "recurrence since. Findings: normal anastomosis."))
    assert "Z08" in result and "Z85.048" in result
    result = codes(code("Oncology: R breast cancer, on anastrozole since 2024 after lumpectomy; she calls it her "
                        "history of breast cancer."))
    assert not any(c.startswith("Z85") for c in result)


def test_pneumonia_organisms_secondary_varices_and_one_asthma(code) -> None:
    result = codes(code("Admitted with Pseudomonas pneumonia; started cefepime."))
    assert "J15.1" in result and not result & {"J15.5", "J15.0", "B96.5"}
    result = codes(code("Hepatology: alcoholic cirrhosis without ascites. EGD today: small esophageal varices."))
    assert {"K70.30", "I85.10"} <= result and "I85.00" not in result
    result = codes(code("PMH: severe persistent asthma. Today: asthma exacerbation after a URI."))
    assert "J45.51" in result and not result & {"J45.50", "J45.901"}


def test_a_list_across_a_comma_is_no_inverted_term(code) -> None:
    result = codes(code("Urgent care: fever, myalgias, cough, headache. Rapid flu B positive. Dx: influenza B."))
    assert "G44.83" not in result
