"""Sentence boundaries from spaCy's rule-based sentencizer, as the assertion rules and LLM steps use them."""

from __future__ import annotations

from core.nlp.assertion import AssertionDetector
from core.nlp.sentences import SentenceIndex, sentence_spans

NOTE_ES = ("Paciente remitido por el Dr. Pérez con Hb 10.5 g/dl. No refiere fiebre; presenta disnea.\n"
           "Antecedentes: HTA, DM tipo 2")


def _texts(text: str, language: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, language)]


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    assert _texts(NOTE_ES, "es") == [
        "Paciente remitido por el Dr. Pérez con Hb 10.5 g/dl.",
        "No refiere fiebre; presenta disnea.",
        "Antecedentes: HTA, DM tipo 2",
    ]


def test_line_breaks_always_end_a_sentence_and_blank_lines_are_skipped() -> None:
    text = "DIAGNOSIS\n\nType 2 diabetes mellitus\nHypertension"
    assert _texts(text, "en") == ["DIAGNOSIS", "Type 2 diabetes mellitus", "Hypertension"]
    assert sentence_spans("", "en") == [] and sentence_spans(" \n ", "en") == []


def test_unknown_language_falls_back_to_the_multilingual_tokenizer() -> None:
    assert _texts("Ο ασθενής έχει πυρετό. Δεν έχει βήχα.", "xx-unknown") == ["Ο ασθενής έχει πυρετό.", "Δεν έχει βήχα."]


def test_bounds_clauses_context_and_chunks() -> None:
    index = SentenceIndex(NOTE_ES, "es")
    start = NOTE_ES.index("disnea")
    left, right = index.sentence_bounds(start, start + 6)
    assert NOTE_ES[left:right] == "No refiere fiebre; presenta disnea."
    left, right = index.clause_bounds(start, start + 6)
    assert NOTE_ES[left:right] == " presenta disnea."
    assert index.around(start, start + 6) == "No refiere fiebre; presenta disnea."
    pieces = index.chunks(100)
    assert [NOTE_ES[a:b] for a, b in pieces] == [NOTE_ES.split("\n")[0], "Antecedentes: HTA, DM tipo 2"]


def test_negation_scope_stops_at_the_clause_but_crosses_an_abbreviation() -> None:
    detector = AssertionDetector(NOTE_ES, "es")
    fever, dyspnoea = NOTE_ES.index("fiebre"), NOTE_ES.index("disnea")
    assert detector.classify(fever, fever + 6)[0] == "negated"
    assert detector.classify(dyspnoea, dyspnoea + 6) == ("present", "")
    text = "Sin antecedentes de HTA ni diabetes según el Dr. Ruiz."
    hta = text.index("HTA")
    assert detector.__class__(text, "es").classify(hta, hta + 3)[0] == "negated"
