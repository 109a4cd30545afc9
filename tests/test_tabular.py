"""The tabular list: typed codes, billable flags and instructional notes inherited from ancestors."""

from core.kb.tabular import normalize_code


def test_normalize_code_accepts_codiesp_spelling():
    assert normalize_code("n44.8") == "N44.8"
    assert normalize_code("N448") == "N44.8"
    assert normalize_code("I50.81-") == "I50.81"
    assert normalize_code("A00-B99") == "A00-B99"


def test_a41_9_inherits_excludes1_from_a41(tabular):
    own = tabular.get("A41.9").notes.excludes1
    inherited = tabular.inherited_notes("A41.9").excludes1
    assert own == []
    assert "bacteremia NOS (R78.81)" in inherited
    assert "R78.81" in tabular.inherited_notes("A41.9").referenced_codes("excludes1")


def test_billable_and_hierarchy(tabular):
    code = tabular.get("I50.810")
    assert code.billable and code.kind == "subcategory" and code.chapter == "9"
    assert not tabular.is_billable("I50.81")
    assert tabular.billable_descendants("I50.81")[:2] == ["I50.810", "I50.811"]
    assert tabular.ancestors("I50.810")[:3] == ["I50.81", "I50.8", "I50"]
    assert tabular.category("I50.810") == "I50"


def test_single_category_block_does_not_loop(tabular):
    # Blocks holding one category share its name (B10); ancestors must still terminate.
    assert tabular.get("B10").kind == "category"
    assert tabular.ancestors("B10.01") == ["B10.0", "B10", "1"]


def test_seventh_character_rules_are_inherited(tabular):
    notes = tabular.inherited_notes("S72.001")
    assert notes.seven_chr_def["A"] == "initial encounter for closed fracture"
    assert tabular.is_billable("S72.001A") and not tabular.is_billable("S72.001")


def test_use_additional_and_code_first_references(tabular):
    assert "Z79.4" in tabular.inherited_notes("E11.9").referenced_codes("use_additional")
    assert tabular.inherited_notes("E11.9").use_additional


def test_unspecified_code_is_the_one_a_coder_completes_a_category_to(tabular):
    assert tabular.unspecified_code("I63") == "I63.9"  # nearest level first, not I63.20 (two "unspecified")
    assert tabular.unspecified_code("K26") == "K26.9"  # the .9 child, not K26.4 "chronic or unspecified ... with"
    assert tabular.unspecified_code("C64", "left") == "C64.2"  # a sibling naming the side
    assert tabular.unspecified_code("H46", "right") == "H46.9"  # H46.01 is papillitis: not a sibling of H46.9
    assert tabular.unspecified_code("M54.5") == "M54.50"
    assert tabular.unspecified_code("E11.9") == "E11.9"  # billable already
    assert tabular.unspecified_code("Z99.99") == ""  # unknown code


def test_current_code_moves_codiesp_codes_into_this_edition(tabular):
    # Split into children since 2018: the unspecified child.
    assert tabular.current_code("r51") == "R51.9"
    assert tabular.current_code("M54.5") == "M54.50"
    assert tabular.current_code("K56.60") == "K56.609"
    # CodiEsp writes injury codes without their 7th character: initial encounter, X placeholders as needed.
    assert tabular.current_code("s72.002") == "S72.002A"
    assert tabular.current_code("T14.8") == "T14.8XXA"
    assert tabular.current_code("W19.XXX") == "W19.XXXA"
    assert tabular.current_code("S42.30") == "S42.309A"  # a split code whose child needs the 7th character
    assert tabular.current_code("T81.4XX") == "T81.40XA"  # T81.4 itself was split since
    # Codes of this edition stay; a code with no unspecified child, or unknown, is returned as given.
    assert tabular.current_code("S42.322B") == "S42.322B"
    assert tabular.current_code("i10") == "I10"
    # The child that kept the code's meaning: its condition NOS, its title, "<title>, unspecified", "Other <title>".
    assert tabular.current_code("C90.0") == "C90.00"  # "Multiple myeloma NOS"
    assert tabular.current_code("K83.0") == "K83.09"  # "Cholangitis NOS"
    assert tabular.current_code("K59.8") == "K59.89"  # "Other specified functional intestinal disorders"
    assert tabular.current_code("H57.8") == "H57.89"  # kept title, not the deeper "Brow ptosis, unspecified"
    assert tabular.current_code("K22.8") == "K22.89"  # "diseases" / "disease"
    assert tabular.current_code("I31.3") == "I31.39"  # "Other pericardial effusion (noninflammatory)"
    assert tabular.current_code("S30.1XX") == "S30.11XA"  # kept title, then the 7th character
    assert tabular.current_code("E11") == "E11.9"  # "without complications", as default_code
    assert tabular.current_code("T81.4XXD") == "T81.40XD"  # a 7th character written is kept
    # Left to the coder: no child is a default (transaminases or LDH; the unspecified accident is in every child,
    # the first being an electric bicycle) or the split is by sex.
    assert tabular.current_code("R74.0") == "R74.0"
    assert tabular.current_code("V29.9XX") == "V29.9XX"
    assert tabular.current_code("n35.9") == "N35.9"
    assert tabular.current_code("0dtj4zz") == "0DTJ4ZZ"  # an ICD-10-PCS code is not touched
    assert tabular.current_code("q99.99") == "Q99.99"
