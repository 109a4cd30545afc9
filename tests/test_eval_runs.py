"""core.evaluation.runs over run folders written by run_evaluation with a fake coder on the invented mini split."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from core.datasets.codiesp import Case, load_split
from core.evaluation.evaluate import run_evaluation
from core.evaluation.plan import available_splits, plan_evaluation, run_cases
from core.evaluation.runs import (
    FALSE_POSITIVE,
    MISS,
    TRUE_POSITIVE,
    default_runs_root,
    headline_metrics,
    list_runs,
    load_run,
    new_run_folder,
    runs_frame,
)
from core.evaluation.views import (
    case_view,
    case_view_frame,
    chapter_recall_frame,
    compare_runs,
    evidence_marks,
    latency_table,
    prf_frame,
    seen_unseen_frame,
    step_latency_frame,
    step_recall_frame,
)
from core.schema import CodeSuggestion, CodingResult, Span, StepTrace
from core.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "codiesp_mini"
C1, C2, C3, C4 = (f"S9999-0000000000000000{i}-1" for i in range(1, 5))

# Gold D: C1 e11.9 i10 r07.9 i20.8 | C2 n39.0 r50.9 n20.0 | C3 s72.301a w19 j45.909 | C4 i50.9 i48.91 z87.891
GOOD = {  # code -> evidence (start, end) per case; candidates in "cand"
    C1: {"codes": {"E11.9": [(21, 45)], "i10": [(48, 69)], "k21.9": [(84, 98)]}, "cand": ["i20.8"]},
    C2: {"codes": {"n39.0": [(21, 50)], "r50.9": [(53, 59)]}, "cand": []},
    C3: {"codes": {"s72.301a": [(19, 60)]}, "cand": []},
    C4: {"codes": {"i50.9": [(24, 57)], "i48.91": [(60, 81)], "z87.891": [(98, 108)]}, "cand": []},
}
WEAK = {  # fewer codes: a worse run to compare against
    C1: {"codes": {"e11.9": [(21, 45)]}, "cand": []},
    C2: {"codes": {"n39.0": [(21, 50)]}, "cand": []},
    C3: {"codes": {}, "cand": []},
    C4: {"codes": {"i50.9": [(24, 57)]}, "cand": []},
}


def fake_coder(plan: dict[str, dict]):  # noqa: ANN201
    def code(case: Case) -> CodingResult:
        entry = plan[case.case_id]
        codes = [
            CodeSuggestion(code=code, evidence=[Span(start=s, end=e, text=case.text[s:e]) for s, e in spans])
            for code, spans in entry["codes"].items()
        ]
        names = [c.lower() for c in entry["codes"]]
        return CodingResult(
            note_sha256=case.case_id, language=case.language, strategy="fake", backend="none", codes=codes,
            candidates=[CodeSuggestion(code=c, status="candidate") for c in entry["cand"]],
            trace=[StepTrace(step="link", output_codes=names + entry["cand"], duration_ms=4.0),
                   StepTrace(step="decide", output_codes=names, duration_ms=1.0)],
        )
    return code


def make_run(root: Path, plan: dict[str, dict], cases: list[Case], *, stamp: datetime, strategy: str) -> Path:
    settings = {"strategy": strategy, "backend": "none", "language": "es", "split": "dev",
                "data_dir": str(FIXTURES), "codiesp_dir": "codiesp_mini", "created_at": stamp.isoformat()}
    folder = new_run_folder(root, settings, now=stamp)
    run_evaluation(cases, fake_coder(plan), folder, settings_dict=settings, train_codes={"e11.9", "i10", "n39.0"})
    return folder


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_split(MINI, "dev", "es")


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory, cases: list[Case]) -> Path:
    root = tmp_path_factory.mktemp("runs")
    make_run(root, WEAK, cases, stamp=datetime(2025, 1, 2, 10, 0, 0).astimezone(), strategy="weak")
    make_run(root, GOOD, cases, stamp=datetime(2025, 1, 3, 10, 0, 0).astimezone(), strategy="good")
    return root


def test_new_run_folder_is_timestamped_and_unique(tmp_path: Path) -> None:
    now = datetime(2025, 5, 6, 7, 8, 9)
    settings = load_settings(Path("/nonexistent.toml"), language="es", strategy="clh", backend="none")
    first = new_run_folder(tmp_path / "runs", settings, "dev", now=now)
    second = new_run_folder(tmp_path / "runs", settings, "dev", now=now)
    assert first.name == "20250506-070809-dev-es-clh-none"
    assert second.name == "20250506-070809-dev-es-clh-none-2"
    assert first.is_dir() and second.is_dir()
    assert default_runs_root(settings.with_overrides(state_dir=tmp_path)) == tmp_path / "runs"


def test_list_runs_newest_first_with_headlines(runs_root: Path) -> None:
    (runs_root / "not-a-run").mkdir()
    runs = list_runs(runs_root)
    assert [r.strategy for r in runs] == ["good", "weak"]
    good = runs[0]
    assert (good.split, good.language, good.backend, good.n_cases, good.n_total) == ("dev", "es", "none", 4, 4)
    assert not good.partial and good.has_metrics
    # GOOD: predicted 9 pairs, 8 true (k21.9 is wrong); gold 13 pairs
    assert good.headline["micro precision"] == pytest.approx(8 / 9)
    assert good.headline["micro recall"] == pytest.approx(8 / 13)
    assert "good" in good.label() and "4 cases" in good.label()
    table = runs_frame(runs)
    assert list(table["run"]) == [r.name for r in runs]
    assert table.loc[0, "micro F1"] == pytest.approx(good.headline["micro F1"])
    assert table.loc[0, "micro F1, gold as written"] == pytest.approx(good.headline["micro F1"])  # scored as written
    assert list_runs(runs_root / "absent") == []


def test_load_run_and_charts_frames(runs_root: Path) -> None:
    run = load_run(list_runs(runs_root)[0].folder)
    assert run.settings["strategy"] == "good" and run.task == "D"
    assert list(run.predictions) == [C1, C2, C3, C4]
    assert run.predictions[C1]["candidates"] == ["i20.8"]
    prf = prf_frame(run.metrics)
    assert set(prf["level"]) == {"full code", "category"} and len(prf) == 12
    steps = step_recall_frame(run.metrics)
    assert list(steps["step"]) == ["link", "decide"]
    assert steps["recall"].iloc[0] == pytest.approx(9 / 13)  # i20.8 candidate kept by the link step
    chapters = chapter_recall_frame(run.metrics)
    assert "9" in set(chapters["chapter"]) and chapters["title"].str.len().min() > 0
    seen = seen_unseen_frame(run.metrics)
    assert set(seen["group"]) == {"seen", "unseen"}
    latencies = step_latency_frame(run)
    assert set(latencies["step"]) == {"link", "decide", "total"} and len(latencies) == 12
    table = latency_table(run.metrics)
    assert list(table["step"]) == ["link", "decide", "total"]
    assert table.loc[0, "p50"] == pytest.approx(4.0)
    with_fallbacks = latency_table({**run.metrics, "fallback_cases": {"decide": 2}})
    assert list(with_fallbacks["fell back"][:2]) == [0, 2] and with_fallbacks["fell back"].isna().iloc[2]


def test_load_run_without_metrics_is_partial(tmp_path: Path, runs_root: Path) -> None:
    source = list_runs(runs_root)[0].folder
    folder = tmp_path / "killed"
    folder.mkdir()
    lines = (source / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "predictions.jsonl").write_text("\n".join(lines[:2]) + "\n{broken", encoding="utf-8")
    (folder / "settings.json").write_text(json.dumps({"split": "dev", "language": "es"}), encoding="utf-8")
    run = load_run(folder)
    assert run.metrics == {} and len(run.predictions) == 2
    assert run.summary.partial and not run.summary.has_metrics
    [summary] = list_runs(tmp_path)
    assert summary.n_cases == 2  # lines counted without parsing, but not one cut short (as load_run finds)
    with pytest.raises(FileNotFoundError):
        load_run(tmp_path / "nothing")


def test_compare_runs(runs_root: Path) -> None:
    good, weak = (load_run(s.folder) for s in list_runs(runs_root))
    table = compare_runs(weak, good, labels=("weak", "good"))
    assert list(table.columns) == ["metric", "weak", "good", "delta"]
    row = table.set_index("metric").loc["micro recall"]
    assert row["weak"] == pytest.approx(3 / 13) and row["good"] == pytest.approx(8 / 13)
    assert row["delta"] == pytest.approx(5 / 13)
    assert "step recall: link" in set(table["metric"])
    assert headline_metrics({})["micro F1"] is None
    # A run scored on gold moved to the tabular list's edition also shows the figures against the codes as written;
    # an older run (scored as written) shows its own figures there.
    moved = headline_metrics({"micro": {"f1": 0.7}, "map": 0.68, "as_written": {"micro": {"f1": 0.66}, "map": 0.62}})
    assert (moved["micro F1"], moved["micro F1, gold as written"], moved["MAP, gold as written"]) == (0.7, 0.66, 0.62)
    older = headline_metrics({"micro": {"f1": 0.69}, "micro_category": {"f1": 0.76}})
    assert (older["micro F1, gold as written"], older["category F1, gold as written"]) == (0.69, 0.76)
    same = compare_runs(good, good)
    assert list(same.columns) == ["metric", "A", "B", "delta"]
    assert same["delta"].dropna().abs().max() == 0
    assert list(compare_runs(good, good, labels=("x", "x")).columns)[1:3] == ["x (1)", "x (2)"]


def test_case_view_classifies_codes_with_spans(runs_root: Path, cases: list[Case]) -> None:
    run = load_run(list_runs(runs_root)[0].folder)
    case = {c.case_id: c for c in cases}[C1]
    rows = case_view(run, case)
    by_code = {r.code: r for r in rows}
    assert [(r.code, r.outcome) for r in rows] == [
        ("e11.9", TRUE_POSITIVE), ("i10", TRUE_POSITIVE), ("k21.9", FALSE_POSITIVE),
        ("r07.9", MISS), ("i20.8", MISS),
    ]
    assert by_code["e11.9"].predicted_spans[0].text == "diabetes mellitus tipo 2"
    assert [(s.start, s.end) for s in by_code["i10"].gold_spans] == [(48, 69), (196, 208)]
    assert by_code["i20.8"].candidate and not by_code["r07.9"].candidate
    assert by_code["i20.8"].rank == 4  # ranked list: the 3 codes, then the candidate
    assert by_code["k21.9"].gold_spans == [] and by_code["r07.9"].predicted_spans == []
    assert by_code["r07.9"].gold_spans[0].text == "dolor torácico"

    marks = evidence_marks(rows, len(case.text))
    assert {(m.code, m.side) for m in marks if m.outcome == MISS} == {("r07.9", "gold"), ("i20.8", "gold")}
    assert {m.code for m in marks if m.outcome == FALSE_POSITIVE} == {"k21.9"}
    assert all(m.side == "predicted" for m in evidence_marks(rows, len(case.text), gold_offsets_valid=False))
    assert all(m.end <= 30 for m in evidence_marks(rows, 30))

    frame = case_view_frame(rows, describe=lambda code: code.upper())
    assert list(frame["outcome"])[-1] == "miss (candidate)"
    assert frame.loc[0, "description"] == "E11.9"


def test_case_view_discontinuous_gold(runs_root: Path, cases: list[Case]) -> None:
    run = load_run(list_runs(runs_root)[0].folder)
    rows = case_view(run, {c.case_id: c for c in cases}[C3])
    fracture = next(r for r in rows if r.code == "s72.301a")
    assert fracture.outcome == TRUE_POSITIVE
    assert [(s.start, s.end, s.text) for s in fracture.gold_spans] == [(19, 27, "fractura"), (47, 60, "fémur derecho")]


def test_run_cases_and_plan(runs_root: Path, tmp_path: Path) -> None:
    run = load_run(list_runs(runs_root)[0].folder)
    settings = load_settings(Path("/nonexistent.toml"), data_dir=tmp_path, backend="none", language="es")
    by_id = run_cases(run, settings)  # the run's own data dir
    assert set(by_id) == {C1, C2, C3, C4} and by_id[C1].gold_d[0] == "e11.9"
    run.settings.pop("data_dir")
    assert run_cases(run, settings) == {}  # neither the run's nor the current data dir has the split

    fixture_settings = settings.with_overrides(data_dir=FIXTURES, codiesp_dir="codiesp_mini", strategy="ranker")
    assert available_splits(MINI) == {"dev": ["es", "en"]}
    assert available_splits(tmp_path / "none") == {}
    plan = plan_evaluation(fixture_settings, "dev", limit=2)
    assert [c.case_id for c in plan.cases] == [C1, C2]
    assert plan.train_splits == () and plan.train_codes == set()
    assert plan.settings_dict["split"] == "dev" and plan.settings_dict["strategy"] == "ranker"
    assert plan.settings_dict["limit"] == 2 and "created_at" in plan.settings_dict
    with pytest.raises(FileNotFoundError):
        plan_evaluation(settings, "dev")
