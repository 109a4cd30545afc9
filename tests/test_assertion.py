"""Negated, ruled-out, family and historical mentions in English and Spanish."""

import pytest

from core.assertion import AssertionDetector

CASES = [
    ("en", "Patient denies chest pain.", "chest pain", "negated"),
    ("en", "No fever, but severe headache.", "headache", "present"),
    ("en", "No fever, but severe headache.", "fever", "negated"),
    ("en", "Pulmonary embolism was ruled out.", "Pulmonary embolism", "negated"),
    ("en", "Family history of diabetes.", "diabetes", "family"),
    ("en", "Suspected appendicitis.", "appendicitis", "possible"),
    ("en", "History of stroke. Presents with pneumonia.", "pneumonia", "present"),
    ("es", "No presenta fiebre ni tos.", "tos", "negated"),
    ("es", "No fiebre.", "fiebre", "negated"),
    ("es", "Se descarta neumonía.", "neumonía", "negated"),
    ("es", "Neumonía descartada por TAC.", "Neumonía", "negated"),
    ("es", "Neumonía basal derecha.", "Neumonía", "present"),
    ("es", "Sin fiebre, con dolor abdominal.", "dolor abdominal", "present"),
    ("es", "Antecedentes familiares de cáncer de mama.", "cáncer de mama", "family"),
    ("es", "Antecedentes de hipertensión arterial.", "hipertensión arterial", "historical"),
]


@pytest.mark.parametrize(("language", "text", "mention", "expected"), CASES)
def test_assertion(language: str, text: str, mention: str, expected: str):
    start = text.index(mention)
    assertion, cue = AssertionDetector(text, language).classify(start, start + len(mention))
    assert assertion == expected
    assert bool(cue) == (expected != "present")
