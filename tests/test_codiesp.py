"""CodiEsp split loaders on the invented mini split (tests/fixtures/codiesp_mini) and edge-case files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.datasets.codiesp import GoldSpan, gold_code_set, load_gold_codes, load_gold_x, load_split

MINI = Path(__file__).parent / "fixtures" / "codiesp_mini"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "codiesp"
C1, C2, C3, C4 = (f"S9999-0000000000000000{i}-1" for i in range(1, 5))


def test_load_split_spanish() -> None:
    cases = load_split(MINI, "dev", "es")
    assert [c.case_id for c in cases] == [C1, C2, C3, C4]
    first = cases[0]
    assert first.language == "es"
    assert first.text.startswith("Varón de 54 años con diabetes mellitus tipo 2")
    assert first.gold_d == ["e11.9", "i10", "r07.9", "i20.8"]
    assert first.gold_p == ["4a02x4z"]
    assert cases[3].gold_p == []  # case without procedures
    assert [g.code for g in first.gold_x] == ["e11.9", "i10", "r07.9", "i20.8", "i10", "4a02x4z"]
    assert first.gold_x[0] == GoldSpan(C1, "DIAGNOSTICO", "e11.9", "diabetes mellitus tipo 2", [(21, 45)])
    assert first.gold_x[-1].kind == "PROCEDIMIENTO"
    assert [g.code for g in first.gold_spans("D")] == ["e11.9", "i10", "r07.9", "i20.8", "i10"]
    assert first.gold("P") == ["4a02x4z"]


def test_offsets_point_into_spanish_text() -> None:
    for case in load_split(MINI, "dev", "es"):
        for gold in case.gold_x:
            if gold.code == "j45.909":  # the deliberately off-by-one row
                continue
            assert " ".join(case.text[s:e] for s, e in gold.spans) == gold.text


def test_discontinuous_and_off_by_one_spans() -> None:
    case = load_split(MINI, "dev", "es")[2]
    fracture = case.gold_x[0]
    assert fracture.spans == [(19, 27), (47, 60)]
    assert (fracture.start, fracture.end) == (19, 60)
    assert case.text[fracture.start : fracture.end] == "fractura de la diáfisis del fémur derecho"
    asthma = next(g for g in case.gold_x if g.code == "j45.909")
    assert asthma.text == "asma" and case.text[asthma.start : asthma.end] == " asm"  # kept as written


def test_start_end_follow_the_scorer_for_out_of_order_fragments() -> None:
    gold = GoldSpan("c", "DIAGNOSTICO", "l98.9", "lesión piel", [(1973, 1979), (516, 520)])
    assert (gold.start, gold.end) == (1973, 520)
    assert gold.bounds == (516, 1979)


def test_load_split_english_keeps_gold() -> None:
    es, en = load_split(MINI, "dev", "es"), load_split(MINI, "dev", "en")
    assert [c.case_id for c in en] == [c.case_id for c in es]
    assert en[0].language == "en"
    assert en[0].text.startswith("A 54-year-old man")
    assert en[0].text.count("\n") == 4  # sentence per line
    assert en[0].gold_d == es[0].gold_d and en[0].gold_x == es[0].gold_x


def test_unlabelled_split_loads(tmp_path: Path) -> None:
    shutil.copytree(MINI / "dev" / "text_files", tmp_path / "background" / "text_files")
    cases = load_split(tmp_path, "background", "es")
    assert len(cases) == 4
    assert all(c.gold_d == [] and c.gold_p == [] and c.gold_x == [] for c in cases)


def test_missing_split_or_language(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="split directory not found"):
        load_split(tmp_path, "test", "es")
    shutil.copytree(MINI / "dev" / "text_files", tmp_path / "dev" / "text_files")
    with pytest.raises(FileNotFoundError, match="text_files_en"):
        load_split(tmp_path, "dev", "en")
    with pytest.raises(ValueError):
        load_split(MINI, "dev", "fr")  # type: ignore[arg-type]


def test_gold_files_tolerate_bom_crlf_duplicates_and_bad_rows(tmp_path: Path) -> None:
    d = tmp_path / "D.tsv"
    d.write_bytes("\ufeffA\tN44.8\r\nA\tn44.8\r\n\r\nA\tE11.9\r\nbroken-row\r\nB\ti10\r\n".encode())
    assert load_gold_codes(d) == {"A": ["n44.8", "e11.9"], "B": ["i10"]}
    x = tmp_path / "X.tsv"
    x.write_text(
        "A\tDIAGNOSTICO\tN44.8\ttorsión testicular\t10 28\n"
        "A\tDIAGNOSTICO\tr10.9\tdolor\tnot a number\n"
        "A\tOTRO\tr10.9\tdolor\t1 5\n"
        "A\tDIAGNOSTICO\tr10.9\tdolor\n"
        "A\tPROCEDIMIENTO\tbt41zzz\teco renal\t1 4;9 14\n",
        encoding="utf-8",
    )
    rows = load_gold_x(x)
    assert [(r.code, r.kind, r.spans) for r in rows] == [
        ("n44.8", "DIAGNOSTICO", [(10, 28)]),
        ("bt41zzz", "PROCEDIMIENTO", [(1, 4), (9, 14)]),
    ]
    assert load_gold_codes(tmp_path / "missing.tsv") == {} and load_gold_x(tmp_path / "missing.tsv") == []


def test_gold_code_set() -> None:
    cases = load_split(MINI, "dev", "es")
    assert gold_code_set(cases, "P") == {"4a02x4z", "bt41zzz", "0qsb04z"}
    assert len(gold_code_set(cases)) == 13


@pytest.mark.skipif(not (REAL / "dev").is_dir(), reason="CodiEsp corpus not available")
def test_real_dev_split_loads() -> None:
    cases = load_split(REAL, "dev", "es")
    assert len(cases) == 250
    assert sum(len(c.gold_d) for c in cases) == 2677
    assert sum(len(c.gold_x) for c in cases) == 4477
    exact = sum(" ".join(c.text[s:e] for s, e in g.spans) == g.text for c in cases for g in c.gold_x)
    assert exact >= 4470  # a handful of rows are off by one character


def test_code_map_moves_diagnoses_and_keeps_them_as_written(tabular) -> None:
    plain = load_split(MINI, "dev", "es")
    cases = load_split(MINI, "dev", "es", code_map=tabular.current_code)
    third = cases[2]
    assert third.gold_d == ["s72.301a", "w19.xxxa", "j45.909"]  # CodiEsp's "w19" is W19.XXXA today
    assert third.gold_d_as_written == ["s72.301a", "w19", "j45.909"] == plain[2].gold_d
    assert "w19.xxxa" in [g.code for g in third.gold_spans("D")] and "w19" not in [g.code for g in third.gold_x]
    assert [c.gold_p for c in cases] == [c.gold_p for c in plain]  # procedures are not ICD-10-CM codes
    assert [g.text for g in third.gold_x] == [g.text for g in plain[2].gold_x]
    assert plain[2].gold_d_as_written is None


def test_scorer_key_is_codiesp_spelling_and_normalize_code_the_apps() -> None:
    from core.datasets.codiesp import scorer_key
    from core.kb.tabular import normalize_code

    assert scorer_key(" N44.8 ") == "n44.8"  # what CodiEsp's files and official scorer compare
    assert scorer_key("N448") != scorer_key("N44.8")  # the scorer compares strings: no dot inserted
    assert normalize_code(scorer_key("N44.8")) == normalize_code("n448") == "N44.8"  # the app's spelling
