"""Status codes read from numbers and treatments: weeks of gestation, body-mass index, long-term drug therapy."""

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.nlp.analysis import analyze
from core.nlp.status_codes import status_matches
from core.ranking.ranker import CodePriors, extract_candidates


def _codes(text: str, language: str) -> dict[str, str]:
    return {m.code: text[m.start : m.end] for m in status_matches(text, language)}


def test_weeks_of_gestation_and_bmi_in_both_languages():
    assert _codes("Gestante de 38 semanas de gestación, IMC de 36,5.", "es") == {
        "Z3A.38": "38 semanas de gestación", "Z68.36": "IMC de 36,5"}
    assert _codes("Semana 35 de gestación. Índice de masa corporal 17.", "es") == {
        "Z3A.35": "Semana 35 de gestación", "Z68.1": "Índice de masa corporal 17"}
    assert _codes("At 24 weeks of gestation; BMI 41.", "en") == {"Z3A.24": "24 weeks of gestation", "Z68.41": "BMI 41"}
    assert _codes("IMC de 74", "es") == {"Z68.45": "IMC de 74"}
    assert _codes("Gestante de 34 semanas con 19,6 semanas de gestación por ecografía", "es") == {
        "Z3A.34": "Gestante de 34 semanas", "Z3A.19": "19,6 semanas de gestación"}  # not "6 semanas"
    assert _codes("índice de masa corporal [IMC] 52", "es") == {"Z68.43": "índice de masa corporal [IMC] 52"}
    assert _codes("She was 30 weeks pregnant.", "en") == {"Z3A.30": "30 weeks pregnant"}
    assert _codes("semana 3 de gestación; hace 50 semanas de embarazo", "es") == {}  # outside Z3A.08–Z3A.42


def test_long_term_drugs_need_a_sentence_that_says_the_patient_takes_them():
    text = "En tratamiento crónico con prednisona y AAS. Se administró dexametasona en urgencias."
    assert _codes(text, "es") == {"Z79.52": "prednisona", "Z79.82": "AAS"}  # a one-off dose is not long-term use
    assert _codes("Paciente anticoagulado con acenocumarol.", "es") == {"Z79.01": "acenocumarol"}
    assert _codes("She takes warfarin daily. Dexamethasone was given once.", "en") == {"Z79.01": "warfarin"}


def test_status_codes_are_ranker_candidates_with_their_own_source(tabular):
    text = "Mujer de 31 años, embarazada de 38 semanas de gestación."
    linker = DictionaryLinker("es", [TermEntry("embarazada", "Z33.1", "codiesp-train", "c1")])
    rows = {r.code: r for r in extract_candidates(analyze(text, linker.language, linker), linker, tabular, CodePriors())}
    assert rows["Z3A.38"].features["src_status"] == 1.0
    assert rows["Z3A.38"].terms == ["status rule: 38 semanas de gestación"]  # what the rationale shows a coder
    assert text[rows["Z3A.38"].evidence[0].start : rows["Z3A.38"].evidence[0].end] == "38 semanas de gestación"


def test_past_operations_and_dependence_on_a_machine():
    assert _codes("Antecedentes de histerectomía y colecistectomía.", "es") == {
        "Z90.710": "histerectomía", "Z90.49": "colecistectomía"}
    assert _codes("Se programa colecistectomía.", "es") == {}  # a planned operation: no cue of a past one
    assert _codes("En programa de hemodiálisis periódica; precisa silla de ruedas.", "es") == {
        "Z99.2": "hemodiálisis", "Z99.3": "silla de ruedas"}
    assert _codes("History of splenectomy. On home oxygen.", "en") == {"Z90.81": "splenectomy",
                                                                         "Z99.81": "home oxygen"}


def test_every_code_the_rules_can_produce_is_billable(tabular):
    import tomllib

    from core.nlp.status_codes import STATUS_FILE, _bmi_code

    with STATUS_FILE.open("rb") as handle:
        table = tomllib.load(handle)
    codes = {code for group in table.values() for code in group["codes"]}
    codes |= {f"Z3A.{weeks:02d}" for weeks in range(8, 43)} | {_bmi_code(v / 2) for v in range(20, 200)}
    # A category (Z89.51, Z90.1) is completed by the side the note gives: every side must give a billable code.
    produced = {tabular.unspecified_code(code, side) for code in codes for side in ("", "right", "left", "bilateral")}
    assert [code for code in sorted(produced) if not tabular.is_billable(code)] == []
    assert tabular.unspecified_code("Z89.51", "left") == "Z89.512"
    assert tabular.unspecified_code("Z90.1", "right") == "Z90.11"


def test_allergy_status_only_when_the_allergy_is_stated():
    assert _codes("Alérgico a penicilina y a contrastes yodados.", "es") == {
        "Z88.0": "penicilina", "Z91.041": "contrastes yodados"}
    assert _codes("No alergias medicamentosas conocidas. Tratado con amoxicilina.", "es") == {}
    assert _codes("No alérgico a penicilina.", "es") == {}
    assert _codes("Allergic to sulfa drugs.", "en") == {"Z88.2": "sulfa"}


def test_resistance_implants_devices_and_past_treatments():
    assert _codes("Staphylococcus aureus meticilin-resistente.", "es") == {"Z16.11": "meticilin-resistente"}
    assert _codes("Sensible a penicilina.", "es") == {}  # susceptible, not resistant
    assert _codes("Portador de prótesis valvular mecánica y DIU.", "es") == {
        "Z95.2": "prótesis valvular mecánica", "Z97.5": "DIU"}
    assert _codes("Antecedentes de quimioterapia y radioterapia.", "es") == {"Z92.21": "quimioterapia",
                                                                          "Z92.3": "radioterapia"}
    assert _codes("Se inicia quimioterapia.", "es") == {}  # treatment of this episode, not a history
    assert _codes("Diabetes mellitus insulino dependiente.", "es") == {"Z79.4": "insulino dependiente"}


def test_weeks_and_bmi_codes_come_from_the_number_not_from_the_words(tabular):
    # A coder annotated "semanas de gestación" as Z3A.20 in one note: the words do not say 20 in another.
    linker = DictionaryLinker("es", [TermEntry("semanas de gestación", "Z3A.20", "codiesp-train", "c1"),
                                     TermEntry("gestación", "Z33.1", "codiesp-train", "c2")])
    rows = {r.code for r in extract_candidates(analyze("Gestante con 23 semanas de gestación.", linker.language, linker), linker, tabular, CodePriors())}
    assert "Z3A.23" in rows and "Z3A.20" not in rows


def test_transplants_openings_and_other_statuses():
    assert _codes("Trasplantada bipulmonar en 2005; portador de colostomía.", "es") == {
        "Z94.2": "Trasplantada bipulmonar", "Z93.3": "colostomía"}
    assert _codes("Se realizó colostomía de descarga.", "es") == {}  # an operation of this episode, not a status
    assert _codes("Antecedentes de cirugía bariátrica y vasectomía.", "es") == {"Z98.84": "cirugía bariátrica",
                                                                             "Z98.52": "vasectomía"}
    assert _codes("Portador de catéter doble J; pseudofaquia.", "es") == {"Z96.0": "catéter doble J",
                                                                        "Z96.1": "pseudofaquia"}
    assert _codes("He has a colostomy after a kidney transplant.", "en") == {"Z93.3": "colostomy",
                                                                             "Z94.0": "kidney transplant"}
