"""Clinical abbreviations: the curated lists, what is expanded (and what is not), and the offset maps."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.nlp.abbreviation_list import COLUMNS, Abbreviation, load_abbreviations, parse_abbreviations
from core.nlp.abbreviations import ExpandedText, expand, find_abbreviations

LIST_DIR = Path(__file__).resolve().parent.parent / "data" / "abbreviations"


def expansions(text: str, language: str) -> list[tuple[str, str]]:
    return [(e.abbreviation, e.expansion) for e in find_abbreviations(text, language)]


# -- the curated lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_list_rows_are_well_formed(language: str) -> None:
    path = LIST_DIR / f"{language}.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert tuple(lines[0].split("\t")) == COLUMNS
    for lineno, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        assert len(cells) == 5, f"{path.name}:{lineno} has {len(cells)} columns"
        abbreviation, expansion, case, context, _comment = cells
        assert abbreviation.strip() == abbreviation and abbreviation, f"{path.name}:{lineno}"
        assert expansion.strip() == expansion and expansion, f"{path.name}:{lineno}"
        assert case in ("exact", "any"), f"{path.name}:{lineno}"
        if context:
            assert all(cue.strip() == cue and cue for cue in context.split("|")), f"{path.name}:{lineno}"

    entries = load_abbreviations(language)
    assert len(entries) == len(lines) - 1
    assert len(entries) >= 80
    seen = set()
    for entry in entries:
        assert isinstance(entry, Abbreviation)
        assert entry.expansion.strip()
        assert entry.expansion.lower() != entry.abbreviation.lower()
        key = (entry.abbreviation if entry.case_sensitive else entry.abbreviation.lower(), entry.context)
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
    # An abbreviation with several meanings has at most one default meaning (a row without cues).
    by_abbreviation: dict[str, list[Abbreviation]] = {}
    for entry in entries:
        by_abbreviation.setdefault(entry.key, []).append(entry)
    for key, rows in by_abbreviation.items():
        assert len({row.expansion for row in rows if not row.context}) <= 1, key


def test_lists_hold_the_common_abbreviations() -> None:
    en = {(e.abbreviation, e.expansion) for e in load_abbreviations("en")}
    for pair in [
        ("HTN", "hypertension"),
        ("HLD", "hyperlipidemia"),
        ("DM2", "type 2 diabetes mellitus"),
        ("T2DM", "type 2 diabetes mellitus"),
        ("CAD", "coronary artery disease"),
        ("HFrEF", "systolic heart failure"),
        ("CKD", "chronic kidney disease"),
        ("ESRD", "end stage renal disease"),
        ("OSA", "obstructive sleep apnea"),
        ("NSTEMI", "non-ST elevation myocardial infarction"),
        ("s/p", "status post"),
        ("h/o", "history of"),
    ]:
        assert pair in en
    es = {(e.abbreviation, e.expansion) for e in load_abbreviations("es")}
    for pair in [
        ("HTA", "hipertensión arterial"),
        ("DM2", "diabetes mellitus tipo 2"),
        ("DLP", "dislipemia"),
        ("EPOC", "enfermedad pulmonar obstructiva crónica"),
        ("ERC", "enfermedad renal crónica"),
        ("TEP", "tromboembolismo pulmonar"),
        ("SAOS", "síndrome de apnea obstructiva del sueño"),
        ("ITU", "infección del tracto urinario"),
    ]:
        assert pair in es


def test_ambiguous_abbreviations_need_a_cue_in_the_list() -> None:
    en = {e.abbreviation: e for e in load_abbreviations("en") if e.abbreviation in ("PE", "MS")}
    assert en["PE"].context and en["MS"].context
    es = [e for e in load_abbreviations("es") if e.abbreviation == "IRA"]
    assert {e.expansion for e in es} == {"insuficiencia renal aguda", "insuficiencia respiratoria aguda"}
    assert all(e.context for e in es)


def test_malformed_lines_name_the_file_and_line(tmp_path: Path) -> None:
    header = "\t".join(COLUMNS)
    cases = {
        "columns.tsv": f"{header}\nHTN\thypertension\texact\t\tcomment\textra\n",
        "case.tsv": f"{header}\nHTN\thypertension\tupper\t\t\n",
        "empty.tsv": f"{header}\nHTN\t\texact\t\t\n",
        "cue.tsv": f"{header}\nPE\tpulmonary embolism\texact\theparin||CTA\t\n",
        "duplicate.tsv": f"{header}\nHTN\thypertension\texact\t\t\nHTN\thigh blood pressure\texact\t\t\n",
        "header.tsv": "abbr\texpansion\nHTN\thypertension\texact\t\t\n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=rf"{name}:\d+"):
            load_abbreviations("en", path)
    with pytest.raises(ValueError, match=r"inline\.tsv:2: expected 5 tab-separated columns"):
        parse_abbreviations(f"{header}\nHTN hypertension exact\n", "inline.tsv")
    good = tmp_path / "good.tsv"
    good.write_text(f"{header}\n# a comment line\n\nHTN\thypertension\tany\t\n", encoding="utf-8")
    assert load_abbreviations("en", good) == [Abbreviation("HTN", "hypertension", False, (), "")]


def test_loading_is_cached_per_path_and_follows_edits(tmp_path: Path) -> None:
    header = "\t".join(COLUMNS)
    path = tmp_path / "list.tsv"
    path.write_text(f"{header}\nHTN\thypertension\texact\t\t\n", encoding="utf-8")
    first = load_abbreviations("en", path)
    assert load_abbreviations("en", path) == first
    assert load_abbreviations("en") is not load_abbreviations("en")  # callers get their own list
    path.write_text(f"{header}\nHTN\thypertension\texact\t\t\nHLD\thyperlipidemia\texact\t\t\n", encoding="utf-8")
    assert [e.abbreviation for e in load_abbreviations("en", path)] == ["HTN", "HLD"]


# -- what is expanded -------------------------------------------------------------------------------------------


def test_problem_list_is_written_out_and_maps_back_to_the_abbreviations() -> None:
    note = "PMH: HTN, HLD, DM2, CAD s/p CABG, OSA on CPAP"
    result = expand(note, "en")
    assert result.text == (
        "PMH: hypertension, hyperlipidemia, type 2 diabetes mellitus, coronary artery disease status post coronary "
        "artery bypass graft, obstructive sleep apnea on continuous positive airway pressure"
    )
    for term, abbreviation in [
        ("hypertension", "HTN"),
        ("hyperlipidemia", "HLD"),
        ("type 2 diabetes mellitus", "DM2"),
        ("coronary artery disease", "CAD"),
        ("status post", "s/p"),
        ("coronary artery bypass graft", "CABG"),
        ("obstructive sleep apnea", "OSA"),
        ("continuous positive airway pressure", "CPAP"),
    ]:
        start = result.text.index(term)
        original = result.to_original(start, start + len(term))
        assert original == (note.index(abbreviation), note.index(abbreviation) + len(abbreviation))
        assert note[slice(*original)] == abbreviation
        # A part of an expansion ("diabetes" in "type 2 diabetes mellitus") points at the whole abbreviation.
        inner = result.text.index(term.split()[-1], start)
        assert result.to_original(inner, inner + 3) == original
    # A span across several expansions covers the abbreviations from first to last.
    start = result.text.index("hypertension")
    end = result.text.index("hyperlipidemia") + len("hyperlipidemia")
    assert note[slice(*result.to_original(start, end))] == "HTN, HLD"
    assert all(e.cue == "" for e in result.expansions)


def test_punctuation_around_an_abbreviation() -> None:
    assert expansions("HTN. (CKD) DM2, [OSA]; COPD:", "en") == [
        ("HTN", "hypertension"),
        ("CKD", "chronic kidney disease"),
        ("DM2", "type 2 diabetes mellitus"),
        ("OSA", "obstructive sleep apnea"),
        ("COPD", "chronic obstructive pulmonary disease"),
    ]
    assert expand("HTN/HLD/DM2", "en").text == "hypertension/hyperlipidemia/type 2 diabetes mellitus"
    assert expand("#HTN: on lisinopril", "en").text == "#hypertension: on lisinopril"
    assert expand("post-MI, non-STEMI", "en").text == (
        "post-myocardial infarction, non-ST elevation myocardial infarction"
    )


def test_spelling_variants_and_plurals() -> None:
    for variant in ["DM2", "DM 2", "DM-2", "DMII", "DM II", "DM-II", "T2DM", "dm2"]:
        assert expansions(f"Hx {variant} on metformin", "en")[1] == (variant, "type 2 diabetes mellitus"), variant
    assert expand("CKD3b, CKD 4", "en").text == "chronic kidney disease stage 3b, chronic kidney disease stage 4"
    assert expand("Afib, A-fib, a fib", "en").text == "atrial fibrillation, atrial fibrillation, atrial fibrillation"
    assert expand("recurrent UTIs, prior MIs, CHF's course", "en").text == (
        "recurrent urinary tract infection, prior myocardial infarction, congestive heart failure course"
    )
    assert expand("DM2 w/CKD, w/o retinopathy", "en").text == (
        "type 2 diabetes mellitus with chronic kidney disease, without retinopathy"
    )
    assert expand("ITUs de repetición, alergia a AINEs", "es").text == (
        "infección del tracto urinario de repetición, alergia a antiinflamatorio no esteroideo"
    )


def test_case_rules() -> None:
    assert expansions("Hx of MI in 2019.", "en") == [("Hx", "history"), ("MI", "myocardial infarction")]
    assert expansions("S/P CABG, s/p PCI", "en")[0] == ("S/P", "status post")
    # "mi" is a word in Spanish; "MI" is an English abbreviation only in capitals.
    assert expansions("Mi madre tiene HTA y mi padre DM2.", "es") == [
        ("HTA", "hipertensión arterial"),
        ("DM2", "diabetes mellitus tipo 2"),
    ]
    assert expansions("mi madre, Mi casa, cad, osa", "en") == []
    assert expansions("la ira del paciente, les dijo, hta mañana", "es") == []
    assert expansions("UTIS, utis, MIS", "en") == []


def test_context_dependent_abbreviations_need_their_cue() -> None:
    found = find_abbreviations("CT angiogram showed a saddle PE, started heparin drip.", "en")
    assert [(e.abbreviation, e.expansion) for e in found] == [("PE", "pulmonary embolism")]
    assert found[0].cue in ("saddle", "CT angiogram", "heparin")
    assert expansions("PE: normal. Lungs clear.", "en") == []
    assert expansions("PE", "en") == []
    # A cue in another sentence does not count.
    assert expansions("PE: unremarkable. Started heparin for DVT.", "en") == [("DVT", "deep vein thrombosis")]

    renal = find_abbreviations("Ingresa por IRA prerrenal con creatinina de 3,2 mg/dL.", "es")
    assert [(e.expansion, e.cue) for e in renal] == [("insuficiencia renal aguda", "prerrenal")]
    respiratory = find_abbreviations("IRA con hipoxemia grave que precisó VMNI.", "es")
    assert [(e.expansion, e.cue) for e in respiratory] == [("insuficiencia respiratoria aguda", "hipoxemia")]
    assert expansions("Diagnóstico: IRA.", "es") == []


def test_the_nearest_cue_decides_between_meanings() -> None:
    result = find_abbreviations("Satting 94% on RA. RA on methotrexate. Dilated RA on echo.", "en")
    assert [(e.expansion, e.cue) for e in result] == [
        ("room air", "%"),
        ("rheumatoid arthritis", "methotrexate"),
        ("right atrium", "Dilated"),
    ]
    spanish = find_abbreviations("HTA, DM2 y FA anticoagulada con Sintrom. GGT 88 UI/L, FA 232 UI/L.", "es")
    assert [(e.abbreviation, e.expansion) for e in spanish if e.abbreviation == "FA"] == [
        ("FA", "fibrilación auricular"),
        ("FA", "fosfatasa alcalina"),
    ]


def test_a_default_meaning_yields_to_a_cued_one() -> None:
    found = find_abbreviations("Abdomen soft, no CVA tenderness. History of CVA with residual weakness.", "en")
    assert [(e.expansion, e.cue) for e in found] == [
        ("costovertebral angle", "tenderness"),
        ("cerebrovascular accident", ""),
    ]


def test_a_definition_in_the_note_settles_the_meaning() -> None:
    note = "Admitted with pulmonary embolism (PE). Echo today. PE is stable."
    result = expand(note, "en")
    assert result.text == "Admitted with pulmonary embolism (PE). Echo today. pulmonary embolism is stable."
    assert result.expansions[0].start == note.index("PE is")
    # A parenthesis spelled by the words before it defines something else.
    assert expansions("Cervical magnetic resonance (MR) showed a mass.", "en") == []
    assert expansions("Ocular allergy (OA) in spring.", "en") == []


def test_abbreviations_already_written_out_are_left_alone() -> None:
    assert expansions("hypertension (HTN) and type 2 diabetes (T2DM)", "en") == []
    assert expansions("HTN (hypertension), CKD [chronic kidney disease]", "en") == []
    assert expansions("enfermedad renal crónica (ERC) estadio 4 e insuficiencia cardíaca (IC)", "es") == []
    # Written out elsewhere: the later abbreviation is still expanded.
    assert expansions("Hypertension (HTN). HTN controlled.", "en") == [("HTN", "hypertension")]


def test_abbreviations_inside_words_urls_and_codes_are_left_alone() -> None:
    text = (
        "CADASIL, HTNX, DM2x, MIT, cadaver, CAD-001, HTN_2, MI#3, ICD-10, https://example.org/HTN/CAD, "
        "www.copd.org, htn@example.com, /srv/notes/CKD, C:\\notes\\CHF.txt"
    )
    assert find_abbreviations(text, "en") == []
    assert expansions("1.HTN 2.HLD", "en") == [("HTN", "hypertension"), ("HLD", "hyperlipidemia")]


def test_capitals_and_addresses_are_not_taken_for_abbreviations() -> None:
    header = "PATIENT: DOE, JANE\nADDRESS: 1 Main St, Detroit, MI 48201\nHE IS ALL SET AS PLANNED. PE: NORMAL."
    assert find_abbreviations(header, "en") == []
    assert expansions("Reports DOE and orthopnea; h/o MI.", "en") == [
        ("DOE", "dyspnea on exertion"),
        ("h/o", "history of"),
        ("MI", "myocardial infarction"),
    ]


def test_custom_entries_replace_the_list() -> None:
    entries = [
        Abbreviation("XYZ", "xyz syndrome", True),
        Abbreviation("QQ", "quux disease", True, ("quux*",)),
    ]
    assert expand("XYZ and HTN. QQ alone. QQ with quuxing.", "en", entries).text == (
        "xyz syndrome and HTN. QQ alone. quux disease with quuxing."
    )


# -- offset maps ------------------------------------------------------------------------------------------------


def test_offsets_round_trip_outside_expansions() -> None:
    note = (
        "67 y/o M with PMH of HTN, HLD, DM2 w/CKD 3b, CAD s/p CABG x3, OSA on CPAP.\n"
        "Presented with CP and SOB; CT angiogram showed saddle PE, started heparin. ESRD on HD MWF."
    )
    result = expand(note, "en")
    assert len(result.expansions) >= 12
    inside = [False] * (len(note) + 1)
    for exp in result.expansions:
        for i in range(exp.start + 1, exp.end):
            inside[i] = True
        # The abbreviation's own span maps to its expansion and back.
        exp_start, exp_end = result.to_expanded(exp.start, exp.end)
        assert result.text[exp_start:exp_end].strip() == exp.expansion
        assert result.to_original(exp_start, exp_end) == (exp.start, exp.end)
        assert result.expansions_in(exp_start, exp_end) == [exp]
    rng = random.Random(7)
    checked = 0
    for _ in range(2000):
        start = rng.randrange(len(note) + 1)
        end = rng.randrange(start, len(note) + 1)
        if inside[start] or inside[end] or any(e.start < end and start < e.end for e in result.expansions):
            continue
        exp_start, exp_end = result.to_expanded(start, end)
        assert result.text[exp_start:exp_end] == note[start:end]
        assert result.to_original(exp_start, exp_end) == (start, end)
        checked += 1
    assert checked > 100
    # Spans around expansions round-trip too.
    start, end = note.index("HTN"), note.index("OSA") + 3
    assert result.to_original(*result.to_expanded(start, end)) == (start, end)
    with pytest.raises(ValueError):
        result.to_original(5, 2)
    with pytest.raises(ValueError):
        result.to_expanded(0, len(note) + 1)


def test_expanded_text_without_expansions_is_the_identity() -> None:
    result = expand("Nothing to expand here.", "en")
    assert result.text == result.original and result.expansions == []
    assert result.to_original(3, 9) == (3, 9) and result.to_expanded(0, 23) == (0, 23)
    rebuilt = ExpandedText(result.original, result.text, [])
    assert rebuilt.to_original(0, 5) == (0, 5)

