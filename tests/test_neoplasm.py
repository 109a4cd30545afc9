"""Neoplasm Table navigation: behaviour word + site word → the code in that column, completed in the tabular list."""

from pathlib import Path

from core.candidates.linker import DictionaryLinker
from core.kb.index import AlphabeticIndex, IndexTerm
from core.kb.neoplasm import (
    DEFAULT_VOCABULARY,
    NEOPLASM_SOURCE,
    complete_code,
    load_vocabulary,
    missing_sites,
    neoplasm_terms,
    table_rows,
)
from core.kb.terms import TermEntry


def _terms(entries: list[TermEntry]) -> dict[str, str]:
    return {entry.text: entry.code for entry in entries}


def test_every_site_word_of_the_vocabulary_has_a_table_row(kb):
    assert missing_sites(kb.index, DEFAULT_VOCABULARY, "es") == []
    assert missing_sites(kb.index, DEFAULT_VOCABULARY, "en") == []


def test_see_rows_take_the_referenced_rows_codes(kb):
    rows = table_rows(kb.index)
    assert rows[("kidney",)]["Malignant Primary"] == "C64.-"
    assert rows[("renal",)] == rows[("kidney",)]  # "renal — see Neoplasm, kidney"
    assert rows[("nasal",)] == rows[("nose, nasal",)]  # the reference names one of the row's titles


def test_incomplete_table_codes_are_completed_by_side_or_unspecified(tabular):
    assert complete_code("C64.-", tabular) == "C64.9"
    assert complete_code("C64.-", tabular, "left") == "C64.2"
    assert complete_code("C50.9-", tabular) == "C50.919"  # unspecified site, unspecified side
    assert complete_code("C50.9-", tabular, "right") == "C50.911"
    assert complete_code("C73", tabular) == "C73"
    assert complete_code("-", tabular) == ""


def test_spanish_and_english_terms_reach_the_right_column(kb):
    spanish = _terms(neoplasm_terms(kb.index, kb.tabular, "es", DEFAULT_VOCABULARY))
    assert spanish["adenocarcinoma renal"] == "C64.9"
    assert spanish["metástasis pulmonar derecho"] == "C78.01"
    assert spanish["carcinoma tiroides"] == "C73"
    assert spanish["tumoración ciego"] == "D49.0"  # unspecified behaviour
    english = _terms(neoplasm_terms(kb.index, kb.tabular, "en", DEFAULT_VOCABULARY))
    assert english["carcinoma renal"] == "C64.9"
    assert english["metastases liver"] == "C78.7"  # a table title used as it is
    assert english["adenoma adrenal"].startswith("D35.0")


def test_missing_table_or_vocabulary_gives_no_terms(tabular, tmp_path: Path):
    empty = AlphabeticIndex(terms=[IndexTerm(id=0, path=("Fever",), code="R50.9", source="cms-index")], infos=[])
    assert neoplasm_terms(empty, tabular, "es", DEFAULT_VOCABULARY) == []
    assert load_vocabulary(tmp_path / "absent.toml", "es").sites == {}


def test_a_term_written_apart_matches_within_one_clause():
    linker = DictionaryLinker("es", [TermEntry("carcinoma lingual", "C02.9", NEOPLASM_SOURCE),
                                     TermEntry("metástasis tiroides", "C79.89", NEOPLASM_SOURCE)])
    text = "Carcinoma de células escamosas que afectaba al borde lingual. Tiroides normal. Sin metástasis."
    matches = linker.find(text)
    assert [(text[m.start : m.end], m.gapped) for m in matches] == [
        ("Carcinoma de células escamosas que afectaba al borde lingual", True)
    ]  # "Tiroides ... metástasis" is split by a full stop: no match
