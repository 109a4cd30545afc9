"""Projection of Spanish CodiEsp evidence onto the English machine translations."""

from __future__ import annotations

from pathlib import Path

from core.candidates.dictionary import link
from core.datasets.codiesp import CodiEsp
from core.kb.bilingual import WordLexicon, align_sentences, project_span, projected_span_terms
from core.nlp.textnorm import tokenize

MINI = Path(__file__).parent / "fixtures" / "codiesp_mini" / "dev"
CASE = "S9999-00000000000000001-1"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_sentences_align_one_to_one_in_order() -> None:
    es_text = (MINI / "text_files" / f"{CASE}.txt").read_text(encoding="utf-8")
    en_lines = _lines(MINI / "text_files_en" / f"{CASE}.txt")
    pairs = align_sentences(es_text, en_lines)
    assert [p.en_lines for p in pairs] == [(0,), (1,), (2,), (3,)]
    assert es_text[pairs[2].start : pairs[2].end].strip() == "Se diagnostica de angina estable."


def test_a_merged_translation_line_takes_two_spanish_sentences() -> None:
    es_text = "Refiere fiebre de 39 grados. Y tos seca desde 2019. Se ingresa en planta."
    en_lines = ["He reports a fever of 39 degrees and a dry cough since 2019.", "He is admitted to the ward."]
    pairs = align_sentences(es_text, en_lines)
    assert [p.en_lines for p in pairs] == [(0,), (1,)]
    assert es_text[pairs[0].start : pairs[0].end] == "Refiere fiebre de 39 grados. Y tos seca desde 2019."


def _stems(text: str, language: str) -> set[str]:
    return {t.stem for t in tokenize(text, language) if not t.is_stop}


def test_span_projects_through_learned_words_and_cognates() -> None:
    lexicon = WordLexicon()
    for _ in range(3):  # "dolor" and "pain" co-occur in aligned pairs; "torácico"/"chest" too
        lexicon.add(_stems("dolor torácico", "es"), _stems("chest pain", "en"))
    lexicon.add(_stems("fiebre", "es"), _stems("fever", "en"))
    line = "A 54-year-old man who comes for chest pain and stable angina."
    es_text = "Varón que acude por dolor torácico y angina estable."
    start = es_text.index("dolor torácico")
    assert project_span(es_text, start, start + len("dolor torácico"), line, lexicon) == "chest pain"
    start = es_text.index("angina estable")  # spelling alone: angina/angina, estable/stable
    assert project_span(es_text, start, start + len("angina estable"), line, lexicon) == "stable angina"
    start = es_text.index("Varón")  # no English word matches: nothing is invented
    assert project_span(es_text, start, start + len("Varón"), "Fever.", lexicon) is None


def test_projected_terms_come_from_the_requested_split_with_case_ids(tmp_path: Path) -> None:
    split = tmp_path / "train"
    (split / "text_files").mkdir(parents=True)
    (split / "text_files_en").mkdir()
    cases = {  # "fiebre"/"fever" and "alta"/"high" co-occur more often than with each other
        "C0": ("Presenta fiebre alta.", "He has a high fever."),
        "C1": ("Presenta fiebre leve.", "He has a mild fever."),
        "C2": ("Tiene la tensión alta.", "He has high blood pressure."),
        "C3": ("Presenta fiebre alta.", "She has a high fever."),
    }
    rows = []
    for case_id, (es_text, en_text) in cases.items():
        (split / "text_files" / f"{case_id}.txt").write_text(es_text, encoding="utf-8")
        (split / "text_files_en" / f"{case_id}.txt").write_text(en_text + "\n", encoding="utf-8")
        if "fiebre alta" in es_text:
            start = es_text.index("fiebre alta")
            rows.append(f"{case_id}\tDIAGNOSTICO\tr50.9\tfiebre alta\t{start} {start + 11}")
    (split / "trainX.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    terms = list(projected_span_terms(CodiEsp(tmp_path), ["train"]))
    assert {(t.text, t.code, t.source) for t in terms} == {("high fever", "R50.9", "codiesp-train-en")}
    assert sorted(t.case_id for t in terms) == ["C0", "C3"]
    assert list(projected_span_terms(CodiEsp(tmp_path), ["dev"])) == []


def test_cognates_share_a_spelling_skeleton() -> None:
    from core.kb.bilingual import skeleton
    from core.nlp.textnorm import stem

    pairs = [("hiperbilirrubinemia", "hyperbilirubinemia"), ("esclerodermia", "scleroderma"),
             ("esquizofrenia", "schizophrenia"), ("neumonia", "pneumonia"), ("cardiopatia", "cardiopathy"),
             ("infeccion", "infection"), ("discinesias", "dyskinesia")]
    for spanish, english in pairs:
        assert skeleton(stem(spanish), "es") == skeleton(stem(english), "en"), (spanish, english)
    assert skeleton(stem("fiebre"), "es") != skeleton(stem("fever"), "en")


def test_spanish_linker_reaches_english_index_terms_only_where_no_spanish_term_matched() -> None:
    from core.candidates.linker import DictionaryLinker
    from core.kb.terms import TRANSLATED_SOURCE, TermEntry

    lexicon = WordLexicon()
    for _ in range(3):
        lexicon.add(_stems("insuficiencia cardiaca derecha", "es"), _stems("right heart failure", "en"))
        lexicon.add(_stems("insuficiencia renal", "es"), _stems("renal failure", "en"))
        lexicon.add(_stems("lado derecho", "es"), _stems("right side", "en"))
        lexicon.add(_stems("soplo cardiaco", "es"), _stems("heart murmur", "en"))
    linker = DictionaryLinker("es", [TermEntry("insuficiencia renal", "N19", "codiesp-train", "C1")])
    english = [TermEntry("Failure heart right", "I50.810", "index"), TermEntry("Failure renal", "N28.9", "index"),
               TermEntry("Sclerodactyly", "L94.3", "index")]
    linker.add_translated(english, lexicon)
    text = "Presenta insuficiencia cardiaca derecha e insuficiencia renal, con esclerodactilia."
    mentions = {m.span.text: m for m in link(text, linker)}
    assert mentions["insuficiencia cardiaca derecha"].codes == ["I50.810"]
    assert TRANSLATED_SOURCE in mentions["insuficiencia cardiaca derecha"].source
    assert mentions["insuficiencia renal"].codes[0] == "N19"  # the Spanish term wins over the translated one
    assert mentions["esclerodactilia"].codes == ["L94.3"]  # a cognate never seen in the aligned texts


def test_a_longer_english_term_beats_the_shorter_spanish_one_it_contains_for_the_ranker_only() -> None:
    from core.candidates.linker import FOREIGN, DictionaryLinker
    from core.kb.terms import TermEntry

    lexicon = WordLexicon()
    for _ in range(3):
        lexicon.add(_stems("absceso pulmonar", "es"), _stems("lung abscess", "en"))
    linker = DictionaryLinker("es", [TermEntry("absceso", "L02.91", "codiesp-train", "C1")])
    linker.add_translated([TermEntry("Abscess, lung", "J85.2", "index")], lexicon)
    text = "Absceso pulmonar derecho."
    ranked = linker.find(text, shadowed=True)
    winner = next(m for m in ranked if not m.shadowed)
    assert winner.key[0] == FOREIGN and text[winner.start : winner.end] == "Absceso pulmonar"
    assert [text[m.start : m.end] for m in ranked if m.shadowed] == ["Absceso"]  # kept for the ranker to weigh
    plain = linker.find(text)  # the deterministic path keeps the term coders used
    assert [(text[m.start : m.end], m.key) for m in plain] == [("Absceso", ("absces",))]
