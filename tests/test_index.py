"""Alphabetical index: tree rebuilt from the flattened CSV, See / See also, XML tables, fallback."""

from pathlib import Path

from core.kb.index import build_index

CSV_HEADER = "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n"


def test_failure_heart_right_from_real_index(kb):
    term = kb.index.find("Failure, failed", "heart", "right")
    assert term is not None
    assert term.code == "I50.810"
    assert term.title == "Failure, failed, heart, right (isolated) (ventricular)"
    parent = kb.index.get(term.parent_id)
    assert parent.path == ("Failure, failed", "heart")


def test_see_and_see_also_are_kept_and_resolved(kb):
    abandonment = kb.index.find("Abandonment")
    assert abandonment.see == "Maltreatment"
    assert kb.index.resolve(abandonment.see).path == ("Maltreatment",)
    cardiac = next(t for t in kb.index.terms if t.see_also == "Failure, heart, right")
    assert kb.index.resolve(cardiac.see_also).code == "I50.810"


def test_see_references_lend_the_code_only_when_found_in_full(tmp_path: Path, tabular):
    from core.kb.terms import SEE_SOURCE, see_reference_terms

    csv_path = tmp_path / "index.csv"
    csv_path.write_text(
        CSV_HEADER
        + '1,O,0,"Obstruction, obstructed",,,,\n'
        + "2,O,1,intestine,,,,K56.609\n"
        + '3,O,1,ileum,"Obstruction, intestine",,,\n'
        + "4,O,0,Occlusion,,,,\n"
        + '5,O,1,ileum,"Obstruction, ileum",,,\n'
        + '6,O,1,wrist,"Obstruction, by site",,,\n'
    )
    index = build_index([("cms-index-csv", csv_path)], tabular, include_tabular=False)
    found = {" ".join(term.path): code for term, code in index.see_reference_codes()}
    assert found == {"Obstruction, obstructed ileum": "K56.609", "Occlusion ileum": "K56.609"}  # a chain of two
    assert index.resolve("Obstruction, by site").path == ("Obstruction, obstructed",)  # shown to a coder
    assert index.resolve("Obstruction, by site", exact=True) is None  # never lends the main term's code
    entries = list(see_reference_terms(index))
    assert {(e.text, e.code, e.source) for e in entries} == {  # "Obstruction, obstructed": two forms of one word
        ("Obstruction ileum", "K56.609", SEE_SOURCE), ("obstructed ileum", "K56.609", SEE_SOURCE),
        ("Occlusion ileum", "K56.609", SEE_SOURCE)}


def test_a_term_without_code_or_see_follows_its_see_also(tmp_path: Path, tabular):
    csv_path = tmp_path / "index.csv"
    csv_path.write_text(
        CSV_HEADER
        + "1,E,0,Elephantiasis,,,(nonfilarial),I89.0\n"
        + "2,L,0,Lymphedema,,Elephantiasis,(acquired),\n"
        + "3,L,1,congenital,,,,Q82.0\n"
        + "4,A,0,Abdomen,,condition,,\n"  # "see also condition": names no term, lends nothing
    )
    index = build_index([("cms-index-csv", csv_path)], tabular, include_tabular=False)
    assert {" ".join(term.path): code for term, code in index.see_reference_codes()} == {"Lymphedema": "I89.0"}


def test_comma_forms_of_one_word_are_alternatives_not_words_to_match_together():
    from core.kb.terms import path_variants

    assert path_variants(("Infarct, infarction", "myocardium, myocardial")) == [
        "Infarct myocardium", "Infarct myocardial", "infarction myocardium", "infarction myocardial"]
    assert path_variants(("Failure, failed", "heart", "right")) == ["Failure heart right", "failed heart right"]
    assert path_variants(("Fracture", "femur, femoral")) == ["Fracture femur", "Fracture femoral"]
    # A comma joining a modifier: the main term keeps its first word (as printed), a subterm all of its words.
    assert path_variants(("Bridge, myocardial",)) == ["Bridge"]
    assert path_variants(("Hematoma", "hematoma, subdural")) == ["Hematoma hematoma, subdural"]
    assert len(path_variants(("Abnormal, abnormality, abnormalities", "heart, hearts", "rhythm, rhythms"))) == 4


def test_myocardial_infarction_is_found_without_the_index_s_second_form(kb):
    linker = kb.linker("en", ())
    text = "History of myocardial infarction."
    codes = {code for match in linker.find(text) for code, _, _ in linker.scored_codes(match.key)}
    assert "I21.9" in codes


def test_tree_rebuilt_from_levels_and_notes_skipped(tmp_path: Path, tabular):
    csv_path = tmp_path / "index.csv"
    csv_path.write_text(
        CSV_HEADER
        + "1,F,0,\"Failure, failed\",,,,\n"
        + "2,F,1,heart,,,(acute),I50.9\n"
        + "3,F,2,right,,,(isolated) (ventricular),I50.810\n"
        + "4,F,1,\"Note: stages are explained here\",,,,\n"
        + "5,F,2,stage A,,,,Z91.89\n"
        + "6,F,0,Abandonment,Maltreatment,,,\n"
        + "7,F,1,breast,,,,C50.91-\n",
        encoding="utf-8",
    )
    index = build_index([("cms-index-csv", csv_path)], tabular, include_tabular=False)
    assert index.find("Failure, failed", "heart", "right").code == "I50.810"
    # The note row is not a term: its sub-row stays under "heart".
    assert index.find("Failure, failed", "heart", "stage A").code == "Z91.89"
    incomplete = index.find("Abandonment", "breast")
    assert incomplete.needs_completion and incomplete.target_code == "C50.91"
    assert index.official_loaded


def test_neoplasm_table_cells_become_terms(kb):
    lung = [t for t in kb.index.terms if t.source == "neoplasm" and t.path[:2] == ("Neoplasm, neoplastic", "lung")]
    by_column = {t.path[-1]: t.code for t in lung if t.code}
    assert by_column.get("Malignant Primary", "").startswith("C34")


def test_missing_index_falls_back_to_tabular_with_notice(tmp_path: Path, tabular):
    index = build_index([("cms-index-csv", tmp_path / "absent.csv")], tabular)
    assert not index.official_loaded
    assert any("not loaded" in info.notice for info in index.infos)
    assert any(t.target_code == "I50.810" for t in index.terms)


OFFICIAL_XML = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index>
  <version>2026</version>
  <letter>
    <title>F</title>
    <mainTerm>
      <title>Failure, failed</title>
      <term level="1">
        <title>heart<nemod>(acute) (senile)</nemod></title>
        <code>I50.9</code>
        <term level="2">
          <title>right<nemod>(isolated) (ventricular)</nemod></title>
          <code>I50.810</code>
        </term>
      </term>
    </mainTerm>
    <mainTerm>
      <title>Fahr disease</title>
      <see>Disease, Fahr</see>
    </mainTerm>
  </letter>
</ICD10CM.index>
"""


def test_official_index_xml_supersedes_csv(tmp_path: Path, tabular):
    xml_path = tmp_path / "icd10cm_index_2026.xml"
    xml_path.write_text(OFFICIAL_XML, encoding="utf-8")
    csv_path = tmp_path / "index.csv"
    csv_path.write_text(CSV_HEADER + "1,Z,0,Zebra,,,,Z99.89\n", encoding="utf-8")
    index = build_index([("cms-index-xml", xml_path), ("cms-index-csv", csv_path)], tabular, include_tabular=False)
    right = index.find("Failure, failed", "heart", "right")
    assert right.code == "I50.810" and right.nonessential == "(isolated) (ventricular)"
    assert index.find("Fahr disease").see == "Disease, Fahr"
    assert index.find("Zebra") is None  # the lossy CSV is not read when the XML is there
    assert index.infos[0].edition == "FY2026"


def test_user_cie10es_list_is_read(tmp_path: Path):
    from core.kb.terms import user_code_list_terms

    path = tmp_path / "cie10es.tsv"
    path.write_text("I50.810\tInsuficiencia cardiaca derecha, no especificada\nbad-row\n", encoding="utf-8")
    entries, info = user_code_list_terms(path, "cie10es-user")
    assert [(e.code, e.source) for e in entries] == [("I50.810", "cie10es-user")]
    assert info.items == 1 and info.loaded
    missing_entries, missing = user_code_list_terms(tmp_path / "absent.tsv", "cie10es-user")
    assert missing_entries == [] and not missing.loaded and "not found" in missing.notice
