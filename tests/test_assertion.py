"""Negated, ruled-out, family and historical mentions in English and Spanish."""

import pytest

from core.nlp.assertion import AssertionDetector

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
    # A new statement ends a negation's scope; pseudo-triggers negate nothing after them.
    ("es", "Varón sin antecedentes de interés, consultó por una tumoración malar.", "tumoración malar", "present"),
    ("es", "Mujer sin fiebre, de seis meses de evolución, que consulta por dolor en el muslo.", "dolor", "present"),
    ("es", "No se realizó tratamiento y el paciente ingresó en cuidados paliativos.", "cuidados paliativos",
     "present"),
    ("es", "No obstante, se inicia tratamiento para cardiopatía isquémica.", "cardiopatía isquémica", "present"),
    ("es", "Paciente no alérgico, exfumador, con cardiopatía.", "exfumador", "present"),
    ("es", "Carcinoma no célula pequeña tratado con quimioterapia.", "quimioterapia", "present"),
    ("es", "Tras la resolución del cuadro diarreico y un resultado negativo de toxina.", "cuadro diarreico",
     "present"),
    ("es", "Sin fiebre, tos ni expectoración.", "expectoración", "negated"),
    ("es", "No fiebre, sin embargo presenta tos.", "tos", "present"),  # a pseudo-trigger still ends a scope
    ("es", "No refería hematuria ni dolor en fosas renales.", "dolor en fosas renales", "negated"),
    ("es", "Serología de hepatitis A, B y C negativas.", "hepatitis", "negated"),
    # A longer trigger outranks the shorter ones inside it: not ruling something out makes it possible.
    ("es", "No se descarta neumonía.", "neumonía", "possible"),
    ("es", "Sin poder descartar una perforación duodenal, se decide intervenir.", "perforación duodenal",
     "possible"),
    ("es", "La TAC sin contraste muestra una lesión frontal izquierda.", "lesión frontal", "present"),
    ("en", "Pneumonia cannot be ruled out.", "Pneumonia", "possible"),
    ("en", "We could not rule out appendicitis.", "appendicitis", "possible"),
    ("en", "Man without fever, who consulted for chest pain.", "chest pain", "present"),
    ("en", "No fever, chills or weight loss.", "weight loss", "negated"),
]


@pytest.mark.parametrize(("language", "text", "mention", "expected"), CASES)
def test_assertion(language: str, text: str, mention: str, expected: str):
    start = text.index(mention)
    assertion, cue = AssertionDetector(text, language).classify(start, start + len(mention))
    assert assertion == expected
    assert bool(cue) == (expected != "present")


@pytest.mark.parametrize(("text", "mention", "language", "expected"), [
    ("Hermano con diabetes mellitus tipo 2.", "diabetes", "es", "family"),
    ("Madre con cáncer de mama a los 50 años.", "cáncer", "es", "family"),
    ("Brother with type 2 diabetes.", "diabetes", "en", "family"),
    ("Fiebre con tos productiva.", "tos", "es", "present"),  # "con" still ends other scopes
    ("No fever with cough.", "cough", "en", "present"),
])
def test_a_relative_with_a_condition_is_family_history(text: str, mention: str, language: str, expected: str) -> None:
    start = text.index(mention)
    assert AssertionDetector(text, language).classify(start, start + len(mention))[0] == expected
