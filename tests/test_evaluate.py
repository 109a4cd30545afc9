"""run_evaluation over the invented mini split with a fake coder; expected metrics worked out by hand below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.datasets.codiesp import Case, load_split
from core.evaluation.evaluate import EvaluationReport, load_predictions, run_evaluation
from core.schema import CodeSuggestion, CodingResult, Span, StepTrace

MINI = Path(__file__).parent / "fixtures" / "codiesp_mini"
C1, C2, C3, C4 = (f"S9999-0000000000000000{i}-1" for i in range(1, 5))
SETTINGS = {"strategy": "fake", "backend": "none", "language": "es"}
approx = pytest.approx

# Per case: confident codes with evidence (start, end), candidates, per-step outputs and durations.
# Gold D: C1 e11.9 i10 r07.9 i20.8 | C2 n39.0 r50.9 n20.0 | C3 s72.301a w19 j45.909 | C4 i50.9 i48.91 z87.891
PLAN: dict[str, dict] = {
    C1: {
        "codes": [("E11.9", [(21, 45)]), ("i10", [(190, 212)])],  # i10 covers its 2nd reference (196-208)
        "candidates": ["i20.9", "i20.8"],
        "steps": [("retrieve", ["e11.9", "i10", "r07.9", "i20.8", "i20.9"], 10.0), ("select", ["e11.9", "i10"], 5.0)],
    },
    C2: {
        "codes": [("n39.0", [(21, 50)]), ("n20.9", [(88, 102)])],
        "candidates": [],
        "steps": [("retrieve", ["n39.0", "n20.9", "r50.9"], 20.0), ("select", ["n39.0", "n20.9"], 7.0)],
    },
    C3: {
        # two separate fragments never contain the discontinuous gold (19 .. 60); j45.909 covers the
        # off-by-one gold row (102-106) from 2 before to 1 after
        "codes": [("s72.301a", [(19, 27), (47, 60)]), ("j45.909", [(100, 107)])],
        "candidates": [],
        "steps": [("retrieve", ["s72.301a", "w19", "j45.909"], 30.0), ("select", ["s72.301a", "j45.909"], 9.0)],
    },
    C4: {
        "codes": [("i50.9", [(24, 57)]), ("i48.91", []), ("z87.891", [(98, 108)])],
        "candidates": [],
        "steps": [
            ("retrieve", ["i50.9", "i48.91", "z87.891"], 40.0),
            ("select", ["i50.9", "i48.91", "z87.891"], 11.0),
        ],
    },
}


def fake_result(case: Case) -> CodingResult:
    plan = PLAN[case.case_id]
    codes = [
        CodeSuggestion(code=code, evidence=[Span(start=s, end=e, text=case.text[s:e]) for s, e in spans])
        for code, spans in plan["codes"]
    ]
    return CodingResult(
        note_sha256=case.case_id,
        language=case.language,
        strategy="fake",
        backend="none",
        codes=codes,
        candidates=[CodeSuggestion(code=c, status="candidate") for c in plan["candidates"]],
        trace=[StepTrace(step=name, output_codes=out, duration_ms=ms,
                         fallback="unparseable answer" if (case.case_id, name) == (C2, "select") else None)
               for name, out, ms in plan["steps"]],
        timings_ms={"total": 1.0},
    )


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_split(MINI, "dev", "es")


TRAIN = {"e11.9", "i10", "n39.0", "r50.9", "i50.9"}


def test_full_run_metrics(cases: list[Case], tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = run_evaluation(
        cases,
        fake_result,
        tmp_path,
        settings_dict=SETTINGS,
        train_codes=TRAIN,
        progress=lambda i, n: seen.append((i, n)),
    )
    assert isinstance(report, EvaluationReport)
    assert (report.n_cases, report.n_total, report.partial, report.out_dir) == (4, 4, False, tmp_path)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    got = report.metrics
    # 13 gold pairs; predicted 9, of which 8 right (n20.9 wrong)
    assert got["micro"] == {"precision": approx(8 / 9), "recall": approx(8 / 13), "f1": approx(8 / 11),
                            "tp": 8, "fp": 1, "fn": 5}  # fmt: skip
    # categories: n20.9 -> n20 is right; 13 gold categories, 9 predicted, all right
    assert got["micro_category"]["precision"] == 1.0 and got["micro_category"]["recall"] == approx(9 / 13)
    assert got["emr"] == 0.25  # only C4 is exact
    # AP: C1 [e11.9 i10 i20.9 i20.8] (1+1+3/4)/4; C2 1/3; C3 2/3; C4 1
    assert got["map"] == approx((2.75 / 4 + 1 / 3 + 2 / 3 + 1) / 4)
    # category AP: C1 [e11 i10 i20] 3/4; C2 [n39 n20] 2/3; C3 2/3; C4 1
    assert got["map_category"] == approx((0.75 + 2 / 3 + 2 / 3 + 1) / 4)
    # X: predicted pairs 8 (i48.91 has no evidence), TP e11.9 i10 n39.0 j45.909 i50.9 z87.891
    assert got["span"] == {"precision": 0.75, "recall": approx(6 / 13), "f1": approx(4 / 7), "tp": 6,
                           "n_pred": 8, "n_gold": 13}  # fmt: skip
    assert got["step_recall"] == {"retrieve": approx(12 / 13), "select": approx(8 / 13)}
    assert got["recall_by_chapter"] == {
        "4": {"gold": 1, "tp": 1, "recall": 1.0},
        "9": {"gold": 4, "tp": 3, "recall": 0.75},
        "10": {"gold": 1, "tp": 1, "recall": 1.0},
        "14": {"gold": 2, "tp": 1, "recall": 0.5},
        "18": {"gold": 2, "tp": 0, "recall": 0.0},
        "19": {"gold": 1, "tp": 1, "recall": 1.0},
        "20": {"gold": 1, "tp": 0, "recall": 0.0},
        "21": {"gold": 1, "tp": 1, "recall": 1.0},
    }
    assert got["seen_unseen"]["seen"]["recall"] == approx(4 / 5) and got["seen_unseen"]["seen"]["precision"] == 1.0
    assert got["seen_unseen"]["unseen"]["recall"] == 0.5 and got["seen_unseen"]["unseen"]["precision"] == 0.8
    assert got["macro"]["n_codes"] == 14
    assert got["latency_ms"]["n"] == 4
    assert got["step_latency_ms"]["retrieve"] == {"n": 4, "p50": 25.0, "p95": approx(38.5), "mean": 25.0, "max": 40.0}
    assert got["step_latency_ms"]["select"]["mean"] == 8.0
    assert got["fallback_cases"] == {"select": 1}  # C2's select step fell back
    assert report.records[1]["fallbacks"] == {"select": "unparseable answer"} and not report.records[0]["fallbacks"]
    assert (got["task"], got["labeled"], got["n_errors"], got["partial"]) == ("D", True, 0, False)
    assert json.loads(report.to_json())["metrics"]["micro"]["tp"] == 8


def test_files_written(cases: list[Case], tmp_path: Path) -> None:
    report = run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS)
    assert json.loads((tmp_path / "settings.json").read_text(encoding="utf-8")) == SETTINGS
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == json.loads(json.dumps(report.metrics))
    lines = (tmp_path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["case_id"] for r in records] == [C1, C2, C3, C4]
    first = records[0]
    assert first["ranked"] == ["E11.9", "i10", "i20.9", "i20.8"]
    assert first["codes"] == ["E11.9", "i10"] and first["candidates"] == ["i20.9", "i20.8"]
    assert first["steps"] == {"retrieve": ["e11.9", "i10", "r07.9", "i20.8", "i20.9"], "select": ["e11.9", "i10"]}
    assert first["step_ms"] == {"retrieve": 10.0, "select": 5.0}
    assert first["spans"][0] == {"code": "E11.9", "start": 21, "end": 45, "text": "diabetes mellitus tipo 2"}
    assert first["timings_ms"] == {"total": 1.0} and first["error"] is None and first["latency_ms"] >= 0

    pred_d = (tmp_path / "pred_D.tsv").read_text(encoding="utf-8").splitlines()
    assert pred_d[:5] == [f"{C1}\te11.9", f"{C1}\ti10", f"{C1}\ti20.9", f"{C1}\ti20.8", f"{C2}\tn39.0"]
    assert len(pred_d) == 11
    pred_x = (tmp_path / "pred_X.tsv").read_text(encoding="utf-8").splitlines()
    assert pred_x[0] == f"{C1}\t21 45\tDIAGNOSTICO\te11.9"
    assert f"{C3}\t19 27\tDIAGNOSTICO\ts72.301a" in pred_x and f"{C3}\t47 60\tDIAGNOSTICO\ts72.301a" in pred_x
    assert len(pred_x) == 9 and all(len(row.split("\t")) == 4 for row in pred_x)


def test_interrupt_keeps_finished_cases_and_resume_skips_them(cases: list[Case], tmp_path: Path) -> None:
    def interrupted(case: Case) -> CodingResult:
        if case.case_id == C3:
            raise KeyboardInterrupt
        return fake_result(case)

    report = run_evaluation(cases, interrupted, tmp_path, settings_dict=SETTINGS)
    assert report.partial and report.n_cases == 2 and report.metrics["partial"]
    # scored over C1 + C2 only: 7 gold pairs, 4 predicted, 3 right
    assert (report.metrics["micro"]["tp"], report.metrics["micro"]["fp"], report.metrics["micro"]["fn"]) == (3, 1, 4)
    assert list(load_predictions(tmp_path / "predictions.jsonl")) == [C1, C2]
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "pred_D.tsv").is_file()

    with (tmp_path / "predictions.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"case_id": "S9999-000')  # a line cut short by a kill

    called: list[str] = []

    def counting(case: Case) -> CodingResult:
        called.append(case.case_id)
        return fake_result(case)

    progress: list[tuple[int, int]] = []
    resumed = run_evaluation(
        cases, counting, tmp_path, settings_dict=SETTINGS, resume=True, progress=lambda i, n: progress.append((i, n))
    )
    assert called == [C3, C4]
    assert progress == [(2, 4), (3, 4), (4, 4)]
    assert not resumed.partial and resumed.n_cases == 4
    lines = (tmp_path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["case_id"] for line in lines] == [C1, C2, C3, C4]
    full = run_evaluation(cases, fake_result, None, settings_dict=SETTINGS)
    assert resumed.metrics["micro"] == full.metrics["micro"] and resumed.metrics["map"] == full.metrics["map"]


def test_without_resume_the_file_starts_over(cases: list[Case], tmp_path: Path) -> None:
    run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS)
    run_evaluation(cases[:1], fake_result, tmp_path, settings_dict=SETTINGS)
    assert len((tmp_path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_errors_are_recorded_and_retried_on_resume(cases: list[Case], tmp_path: Path) -> None:
    def flaky(case: Case) -> CodingResult:
        if case.case_id == C2:
            raise ValueError("backend down")
        return fake_result(case)

    report = run_evaluation(cases, flaky, tmp_path, settings_dict=SETTINGS)
    assert report.n_cases == 4 and report.metrics["n_errors"] == 1
    assert load_predictions(tmp_path / "predictions.jsonl")[C2]["error"] == "ValueError: backend down"
    assert report.metrics["micro"]["tp"] == 7  # C2 scored as empty

    called: list[str] = []
    resumed = run_evaluation(
        cases, lambda c: called.append(c.case_id) or fake_result(c), tmp_path, settings_dict=SETTINGS, resume=True
    )
    assert called == [C2]
    assert resumed.metrics["n_errors"] == 0 and resumed.metrics["micro"]["tp"] == 8


def test_an_incomplete_record_is_retried_on_resume(cases: list[Case], tmp_path: Path) -> None:
    """A hand-edited or half-written record ({"case_id": ...} only) must not block scoring or resuming."""
    run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS)
    path = tmp_path / "predictions.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = json.dumps({"case_id": json.loads(lines[1])["case_id"]})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "incomplete record" in load_predictions(path)[C2]["error"]
    called: list[str] = []
    resumed = run_evaluation(
        cases, lambda c: called.append(c.case_id) or fake_result(c), tmp_path, settings_dict=SETTINGS, resume=True
    )
    assert called == [C2] and resumed.metrics["micro"]["tp"] == 8


def test_no_out_dir_unlabelled_and_english(cases: list[Case], tmp_path: Path) -> None:
    report = run_evaluation(cases, fake_result, None, settings_dict=SETTINGS)
    assert report.out_dir is None and report.n_cases == 4 and len(report.records) == 4

    unlabelled = [Case(c.case_id, c.text, c.language) for c in cases]
    bare = run_evaluation(unlabelled, fake_result, tmp_path, settings_dict=SETTINGS)
    assert bare.metrics["labeled"] is False and "micro" not in bare.metrics
    assert bare.metrics["latency_ms"]["n"] == 4 and (tmp_path / "pred_D.tsv").is_file()

    english = run_evaluation(load_split(MINI, "dev", "en"), fake_result, None, settings_dict=SETTINGS)
    assert english.metrics["span"] is None  # offsets would not refer to the Spanish text
    assert english.metrics["micro"]["tp"] == 8


def test_procedure_task(cases: list[Case], tmp_path: Path) -> None:
    report = run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS, task="P")
    assert report.metrics["task"] == "P" and report.metrics["micro"]["tp"] == 0
    assert (tmp_path / "pred_P.tsv").is_file()
    assert "\tPROCEDIMIENTO\t" in (tmp_path / "pred_X.tsv").read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        run_evaluation(cases, fake_result, None, settings_dict=SETTINGS, task="X")


def test_loading_before_the_first_case_is_not_its_latency(cases: list[Case], tmp_path: Path) -> None:
    import time

    def slow_load() -> None:
        time.sleep(0.3)

    report = run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS, warm_up=slow_load)
    assert report.metrics["warm_up_ms"] >= 300
    assert max(r["latency_ms"] for r in report.records) < 300
    # Nothing left to code on resume: no warm-up. An interrupted warm-up codes nothing and keeps what was done.
    again = run_evaluation(cases, fake_result, tmp_path, settings_dict=SETTINGS, resume=True, warm_up=slow_load)
    assert "warm_up_ms" not in again.metrics and again.n_cases == 4

    def interrupted() -> None:
        raise KeyboardInterrupt

    called: list[str] = []
    stopped = run_evaluation(cases, lambda c: called.append(c.case_id) or fake_result(c), tmp_path / "new",
                             settings_dict=SETTINGS, warm_up=interrupted)
    assert stopped.partial and stopped.n_cases == 0 and called == []
    broken = run_evaluation(cases, fake_result, tmp_path / "other", settings_dict=SETTINGS,
                            warm_up=lambda: 1 / 0)  # the cases then meet (and record) the problem themselves
    assert broken.n_cases == 4 and not broken.partial


def test_gold_moved_to_this_edition_is_also_scored_as_written(tabular) -> None:
    """C3's gold "w19" is W19.XXXA in the tabular list's edition: a coder answering W19.XXXA is right there, and
    wrong against the string CodiEsp wrote (what its own scorer compares)."""
    cases = load_split(MINI, "dev", "es", code_map=tabular.current_code)

    def coder(case: Case) -> CodingResult:
        result = fake_result(case)
        if case.case_id == C3:
            result.codes.append(CodeSuggestion(code="W19.XXXA"))
        return result

    metrics = run_evaluation(cases, coder, None, settings_dict=SETTINGS).metrics
    assert (metrics["micro"]["tp"], metrics["micro"]["fp"]) == (9, 1)
    written = metrics["as_written"]
    assert (written["micro"]["tp"], written["micro"]["fp"], written["micro"]["fn"]) == (8, 2, 5)
    assert written["micro_category"]["tp"] == metrics["micro_category"]["tp"] == 10  # W19 is right either way
    assert written["map"] < metrics["map"]
    plain = run_evaluation(load_split(MINI, "dev", "es"), coder, None, settings_dict=SETTINGS).metrics
    assert "as_written" not in plain and plain["micro"] == written["micro"]
