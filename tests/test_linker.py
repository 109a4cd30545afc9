"""Dictionary linker: normalised, word-bounded, longest match, calibrated by coded notes."""

from core.candidates.dictionary import link
from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.nlp.textnorm import term_key

ENTRIES = [
    TermEntry("neumonía", "J18.9", "codiesp-train", "case-a"),
    TermEntry("neumonía", "J18.9", "codiesp-train", "case-b"),
    TermEntry("neumonía basal", "J18.9", "codiesp-train", "case-c"),
    TermEntry("insuficiencia cardiaca", "I50.9", "codiesp-train", "case-a"),
    TermEntry("insuficiencia cardiaca derecha", "I50.810", "codiesp-train", "case-b"),
    TermEntry("dolor", "R52", "codiesp-train", "case-a"),
    TermEntry("dolor", "R10.9", "codiesp-train", "case-b"),
    TermEntry("Right heart failure, unspecified", "I50.810", "tabular"),
]


def test_term_keys_are_accent_case_and_order_insensitive():
    assert term_key("Neumonía BASAL", "es") == term_key("basal neumonia", "es")
    assert term_key("Failure heart right", "en") == term_key("right heart failure", "en")
    assert term_key("edemas", "es") == term_key("edema", "es")


def test_organ_adjectives_meet_their_nouns():
    assert term_key("pulmonary abscess", "en") == term_key("Abscess, lung", "en")
    assert term_key("renal transplant", "en") == term_key("kidney transplant", "en")
    assert term_key("absceso pulmonar", "es") == term_key("absceso del pulmón", "es")
    assert term_key("insuficiencia hepática", "es") == term_key("insuficiencia del hígado", "es")
    assert term_key("cervical pain", "en") != term_key("neck pain", "en")  # ambiguous adjectives stay apart
    assert term_key("prostatic abscess", "en") == term_key("Abscess, prostate", "en")
    assert term_key("absceso prostático", "es") == term_key("absceso de próstata", "es")
    assert term_key("cólico renal", "es") != term_key("colon renal", "es")  # "cólico" is also colic


def test_possessives_and_synonyms_share_a_key():
    assert term_key("Wilson's disease", "en") == term_key("Disease, Wilson\u2019s", "en") == term_key("Wilson disease", "en")
    assert term_key("adenomegalias cervicales", "es") == term_key("adenopatías cervicales", "es")
    assert term_key("fallo renal agudo", "es") == term_key("insuficiencia renal aguda", "es")
    assert term_key("sangrado digestivo", "es") == term_key("hemorragia digestiva", "es")


def test_ex_prefix_makes_one_word():
    assert term_key("Ex fumador", "es") == term_key("ex-fumador", "es") == term_key("exfumador", "es")
    assert term_key("ex-smoker", "en") == term_key("exsmoker", "en")
    assert term_key("Ex fumador", "es") != term_key("fumador", "es")  # a former smoker is not a smoker
    assert term_key("complex fumador", "es") == term_key("fumador complex", "es")  # "ex" inside a word: untouched
    linker = DictionaryLinker("es", [TermEntry("exfumador", "Z87.891", "codiesp-train", "c1")])
    text = "Varón, Ex fumador de 20 cigarrillos."
    (mention,) = link(text, linker)
    assert mention.span.text == "Ex fumador" and mention.codes == ["Z87.891"]


def test_longest_match_wins_and_offsets_point_at_text():
    linker = DictionaryLinker("es", ENTRIES)
    text = "Ingresa por INSUFICIENCIA CARDIACA DERECHA y neumonía basal."
    mentions = link(text, linker)
    assert [m.codes[0] for m in mentions] == ["I50.810", "J18.9"]
    for mention in mentions:
        assert text[mention.span.start : mention.span.end] == mention.span.text
    assert mentions[0].span.text == "INSUFICIENCIA CARDIACA DERECHA"


def test_word_bounded_and_no_crossing_sentence_punctuation():
    linker = DictionaryLinker("es", ENTRIES)
    assert link("doloroso", linker) == [] or all(m.span.text.lower() != "dolo" for m in link("doloroso", linker))
    assert link("insuficiencia. Cardiaca", linker) == []


def test_ambiguous_terms_keep_all_candidates():
    linker = DictionaryLinker("es", ENTRIES)
    (mention,) = link("Refiere dolor.", linker)
    assert set(mention.codes) == {"R52", "R10.9"}


def test_negated_mentions_are_flagged_not_dropped():
    linker = DictionaryLinker("es", ENTRIES)
    (mention,) = link("No presenta neumonía.", linker)
    assert mention.assertion == "negated" and mention.assertion_cue == "no presenta"


def test_fit_calibrates_scores_from_coded_notes():
    linker = DictionaryLinker("es", ENTRIES)
    notes = [
        ("n1", "Dolor abdominal.", {"R10.9"}),
        ("n2", "Dolor abdominal difuso.", {"R10.9"}),
        ("n3", "Dolor.", {"R52"}),
    ]
    linker.fit(notes, "toy")
    ranked = linker.scored_codes(term_key("dolor", "es"))
    assert ranked[0][0] == "R10.9" and ranked[0][1] > ranked[1][1]


def test_learned_terms_extend_a_copy_only():
    linker = DictionaryLinker("es", ENTRIES)
    extended = linker.with_terms([TermEntry("fibrilación auricular", "I48.91", "learned")])
    assert link("Fibrilación auricular.", extended)[0].codes == ["I48.91"]
    assert link("Fibrilación auricular.", linker) == []


def test_one_extra_word_inside_a_term_still_matches():
    linker = DictionaryLinker("es", ENTRIES)
    mentions = link("insuficiencia cardiaca grave derecha", linker)
    assert mentions and mentions[0].codes[0] == "I50.810" and mentions[0].source.endswith(":gapped")


def test_shadowed_matches_are_returned_only_on_request():
    linker = DictionaryLinker("es", ENTRIES)
    text = "Ingresa por insuficiencia cardiaca derecha."
    assert [(m.key, m.shadowed) for m in linker.find(text)] == [(term_key("insuficiencia cardiaca derecha", "es"),
                                                               False)]
    found = {text[m.start : m.end]: m.shadowed for m in linker.find(text, shadowed=True)}
    assert found == {"insuficiencia cardiaca derecha": False, "insuficiencia cardiaca": True}


def test_a_notes_own_annotation_does_not_shadow_shorter_terms_when_excluded():
    """Fitting on case-b must see what a new note would: "insuficiencia cardiaca", not case-b's own longer span."""
    linker = DictionaryLinker("es", ENTRIES)
    text = "Insuficiencia cardiaca derecha."
    own = [text[m.start : m.end] for m in linker.find(text, exclude_cases=("case-b",))]
    assert own == ["Insuficiencia cardiaca"]
    assert [text[m.start : m.end] for m in linker.find(text)] == ["Insuficiencia cardiaca derecha"]


def test_without_cases_hides_annotations_but_keeps_reference_sources():
    linker = DictionaryLinker("es", ENTRIES)
    hidden = linker.without_cases({"case-b"})
    assert term_key("neumonía", "es") in hidden.rules  # still annotated in case-a
    assert hidden.rules[term_key("dolor", "es")].codes == {"R52": {"codiesp-train"}}  # R10.9 came from case-b only
    assert term_key("insuficiencia cardiaca derecha", "es") not in hidden.rules
    english = DictionaryLinker("en", [TermEntry("right heart failure", "I50.810", "codiesp-train-en", "case-b"),
                                      TermEntry("Right heart failure", "I50.810", "tabular")])
    assert english.without_cases({"case-b"}).rules[term_key("right heart failure", "en")].codes == {
        "I50.810": {"tabular"}}
    assert linker.rules[term_key("dolor", "es")].codes.keys() == {"R52", "R10.9"}  # the original is unchanged


def test_derived_linkers_are_copies_that_keep_the_cache_key():
    import pytest

    linker = DictionaryLinker("es", ENTRIES, cache_key="built-from-train")
    linker.fit([("n1", "Dolor abdominal.", {"R10.9"})], "toy")
    extended = linker.with_terms([TermEntry("fibrilación auricular", "I48.91", "learned")])
    refitted = linker.refitted([("n2", "Dolor.", {"R52"})], "other")
    hidden = linker.without_cases({"case-b"})
    assert {extended.cache_key, refitted.cache_key, hidden.cache_key} == {"built-from-train"}
    assert refitted.rules is linker.rules and refitted.stats.fitted_on == ["other"]
    assert linker.stats.fitted_on == ["toy"] and term_key("fibrilación auricular", "es") not in linker.rules
    assert extended.source_counts["learned"] == 1 and linker.source_counts["learned"] == 0
    with pytest.raises(AttributeError):
        linker.copy(no_such_attribute=1)
