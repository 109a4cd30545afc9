"""Laterality: the side named next to a mention, and the sided sibling of a code."""

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.nlp.analysis import analyze
from core.nlp.laterality import side_near, sided_code
from core.nlp.sentences import SentenceIndex
from core.ranking.ranker import CodePriors, extract_candidates


def _side(text: str, term: str, language: str = "es") -> str:
    """As the ranker asks: within the mention's clause."""
    start, end = text.index(term), text.index(term) + len(term)
    return side_near(text, start, end, SentenceIndex(text, language).clause_bounds(start, end), language)


def test_side_words_and_capital_abbreviations():
    assert _side("Pterigión del ojo izquierdo.", "Pterigión") == "left"
    assert _side("En el OD se aprecia una catarata.", "catarata") == "right"
    assert _side("Miopía en ambos ojos.", "Miopía") == "bilateral"
    assert _side("Right knee pain since May.", "knee pain", "en") == "right"
    assert _side("Fue a casa, os lo dije: catarata.", "catarata") == ""  # "os" is a word, not an eye


def test_the_nearest_side_word_wins_within_the_window():
    text = "Catarata en el ojo derecho. Pterigión en el ojo izquierdo. Ptosis leve del párpado derecho."
    assert _side(text, "Pterigión") == "left" and _side(text, "Ptosis") == "right"  # never across a full stop
    assert _side("Hemicolectomía derecha hace diez años por un cáncer de colon; ahora pterigión.", "pterigión") == ""


def test_sided_sibling_names_the_side_first(tabular):
    assert sided_code("H11.009", "left", tabular) == "H11.002"
    assert sided_code("H52.10", "bilateral", tabular) == "H52.13"
    # "Unqualified visual loss, left eye, normal vision right eye", not the right-eye code that mentions "left"
    assert sided_code("H54.7", "left", tabular) == "H54.62"
    assert sided_code("I10", "left", tabular) == ""


def test_ranker_candidates_include_the_sided_code(tabular):
    linker = DictionaryLinker("es", [TermEntry("pterigión", "H11.009", "codiesp-train", "c1")])
    rows = extract_candidates(analyze("Pterigión del ojo izquierdo.", linker.language, linker), linker, tabular, CodePriors())
    by_code = {row.code: row for row in rows}
    assert by_code["H11.002"].features["src_sided"] == 1.0
    assert by_code["H11.009"].features["side_named"] == 1.0 and by_code["H11.009"].features["src_sided"] == 0.0
