"""The evaluation page under streamlit.testing: open a prepared past run, drill into a case, run the fixture split."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.datasets.codiesp import Case, load_split
from core.evaluation.evaluate import run_evaluation
from core.evaluation.runs import list_runs, new_run_folder
from core.schema import CodeSuggestion, CodingResult, Span, StepTrace
from core.store import DecisionStore

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "4_Evaluation.py")
FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "codiesp_mini"
C1 = "S9999-00000000000000001-1"


def fake_code(case: Case) -> CodingResult:
    """Codes the first gold code of each case with its gold evidence, and one wrong code on the first case."""
    first = case.gold_spans("D")[0]
    start, end = first.bounds
    codes = [CodeSuggestion(code=first.code, evidence=[Span(start=start, end=end, text=case.text[start:end])])]
    if case.case_id == C1:
        codes.append(CodeSuggestion(code="k21.9", evidence=[Span(start=0, end=5, text=case.text[0:5])]))
    return CodingResult(note_sha256=case.case_id, language=case.language, strategy="fake", backend="none",
                        codes=codes, trace=[StepTrace(step="link", output_codes=[c.code for c in codes],
                                                      duration_ms=3.0)])


@pytest.fixture()
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state dir with one past run (prepared with a fake coder) and the fixture split as the data dir."""
    state = tmp_path / "state"
    settings = {"strategy": "fake", "backend": "none", "language": "es", "split": "dev", "data_dir": str(FIXTURES),
                "codiesp_dir": "codiesp_mini", "created_at": datetime(2025, 1, 2, 3, 4, 5).astimezone().isoformat()}
    folder = new_run_folder(state / "runs", settings)
    cases = load_split(MINI, "dev", "es")
    run_evaluation(cases, fake_code, folder, settings_dict=settings, train_codes={"e11.9"})
    monkeypatch.setenv("CODER_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("CODER_STATE_DIR", str(state))
    monkeypatch.setenv("CODER_EMBEDDING_MODEL", "none")  # lexical retrieval: no dense build in UI tests
    monkeypatch.setenv("CODER_DATA_DIR", str(FIXTURES))
    monkeypatch.setenv("CODER_CODIESP_DIR", "codiesp_mini")
    monkeypatch.setenv("CODER_EMBEDDING_MODEL", "none")
    monkeypatch.setenv("CODER_BACKEND", "none")
    monkeypatch.setenv("CODER_LANGUAGE", "es")
    return state


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_opens_past_run_with_metrics_and_case(state_dir: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Evaluation"
    headline = at.dataframe[1].value  # [0]: the list of all runs
    values = dict(zip(headline["metric"], headline["value"], strict=True))
    assert values["micro precision"] == pytest.approx(4 / 5)
    assert values["micro recall"] == pytest.approx(4 / 13)
    assert values["cases"] == 4
    html = _markdown(at)
    assert 'class="ev-true-positive"' in html and 'class="ev-false-positive"' in html and 'class="ev-miss"' in html
    assert "diabetes mellitus tipo 2</mark>" in html
    case_table = at.dataframe[-1].value
    assert set(case_table["outcome"]) == {"true positive", "false positive", "miss"}
    # Another case from the drill-down picker.
    at.selectbox(key="eval_case").set_value("S9999-00000000000000003-1").run()
    assert not at.exception, at.exception
    assert "s72.301a" in set(at.dataframe[-1].value["code"])


def test_note_text_is_escaped(state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    split = data / "codiesp" / "dev"
    (split / "text_files").mkdir(parents=True)
    text = "Dolor <script>alert(1)</script> & fiebre"
    (split / "text_files" / "X1.txt").write_text(text, encoding="utf-8")
    (split / "devD.tsv").write_text("X1\tr50.9\n", encoding="utf-8")
    (split / "devX.tsv").write_text("X1\tDIAGNOSTICO\tr50.9\tfiebre\t34 40\n", encoding="utf-8")
    settings = {"strategy": "fake", "backend": "none", "language": "es", "split": "dev", "data_dir": str(data),
                "codiesp_dir": "codiesp", "created_at": datetime(2030, 1, 1).astimezone().isoformat()}
    folder = new_run_folder(state_dir / "runs", settings)

    def code(case: Case) -> CodingResult:
        return CodingResult(note_sha256="x", language="es", strategy="fake", backend="none",
                            codes=[CodeSuggestion(code="r07.9", evidence=[Span(start=0, end=5, text="Dolor")])])

    run_evaluation(load_split(data / "codiesp", "dev", "es"), code, folder, settings_dict=settings)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    html = _markdown(at)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; " in html
    assert 'class="ev-miss"' in html and "fiebre</mark>" in html


def test_new_run_on_fixture_split_with_backend_none(state_dir: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    at.selectbox(key="eval_split").set_value("dev")
    at.selectbox(key="eval_language").set_value("es")
    at.selectbox(key="eval_strategy").set_value("deterministic")
    at.selectbox(key="eval_backend").set_value("none")
    at.number_input(key="eval_limit").set_value(2)
    next(b for b in at.button if b.label == "Run evaluation").click().run()
    assert not at.exception, at.exception
    runs = list_runs(state_dir / "runs")
    assert len(runs) == 2
    new = next(r for r in runs if r.strategy == "deterministic")
    assert (new.backend, new.split, new.n_cases, new.partial) == ("none", "dev", 2, False)
    assert new.headline["micro recall"] is not None
    assert at.selectbox(key="eval_run").value == new.name  # the finished run is opened
    assert any("finished" in s.value for s in at.success)


def test_compare_tab_and_decision_metrics(state_dir: Path) -> None:
    source = list_runs(state_dir / "runs")[0].folder
    copy = state_dir / "runs" / "20200101-000000-copy"
    copy.mkdir()
    for path in source.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    store = DecisionStore(f"sqlite:///{state_dir / 'decisions.sqlite'}")
    note_id = store.add_note("Dolor torácico y fiebre.", "test", "es")
    result = CodingResult(note_sha256="x", language="es", strategy="fake", backend="none",
                          codes=[CodeSuggestion(code="R07.9", step="decide"), CodeSuggestion(code="R50.9")])
    run_id = store.save_run(note_id, result, {}, "ana")
    store.record_decision(run_id, "R07.9", "accept", user="ana")
    store.record_decision(run_id, "R50.9", "reject", user="ana", reason="not documented")
    store.record_decision(run_id, "J18.9", "add", user="ana")

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    compare = next(d.value for d in at.dataframe if "delta" in d.value.columns)
    assert compare["delta"].dropna().abs().max() == 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["decisions"] == "3"
    assert metrics["precision (codes)"] == "50.0%"
    at.radio(key="eval_decisions_group").set_value("chapter").run()
    assert not at.exception, at.exception


def test_page_without_data_dir_still_opens_runs(state_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODER_DATA_DIR", str(tmp_path / "missing"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("CodiEsp data not found" in i.value for i in at.info)
    assert any("No CodiEsp data found" in w.value for w in at.warning)
    assert len(at.dataframe) >= 2  # the past run's tables still render (it names its own data dir)
    assert any("No coder decisions recorded yet" in i.value for i in at.info)


def test_resume_interrupted_run(state_dir: Path) -> None:
    settings = {"strategy": "deterministic", "backend": "none", "language": "es", "split": "dev",
                "data_dir": str(FIXTURES), "codiesp_dir": "codiesp_mini", "limit": None,
                "created_at": datetime(2031, 1, 1).astimezone().isoformat()}
    folder = new_run_folder(state_dir / "runs", settings)
    calls: list[str] = []

    def interrupted_after_two(case: Case) -> CodingResult:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(case.case_id)
        return fake_code(case)

    report = run_evaluation(load_split(MINI, "dev", "es"), interrupted_after_two, folder, settings_dict=settings)
    assert report.partial and report.n_cases == 2

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="eval_run").value == folder.name  # newest first
    assert any("Partial run: 2 of 4" in w.value for w in at.warning)
    # A damaged settings.json: the settings the run was coded with are unknown, so it is not resumed with others.
    settings_file = folder / "settings.json"
    kept = settings_file.read_text(encoding="utf-8")
    settings_file.write_text("{not json", encoding="utf-8")
    at.button(key="eval_resume").click().run()
    assert not at.exception, at.exception
    assert any("missing or unreadable" in e.value for e in at.error), [e.value for e in at.error]
    assert len((folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    settings_file.write_text(kept, encoding="utf-8")
    at.run()
    at.button(key="eval_resume").click().run()
    assert not at.exception, at.exception
    resumed = next(r for r in list_runs(state_dir / "runs") if r.name == folder.name)
    assert (resumed.n_cases, resumed.n_total, resumed.partial) == (4, 4, False)
    # Begun before gold codes were moved to the current edition: finished as it was scored, as written ("w19").
    assert "gold_codes" not in json.loads(settings_file.read_text(encoding="utf-8"))
    assert "as_written" not in json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert not any("Partial run" in w.value for w in at.warning)


def test_a_damaged_metrics_file_leaves_the_other_tabs_working(state_dir: Path) -> None:
    """A hand-edited metrics.json (a count that is not a number) is an error in Results, not a broken page."""
    [summary] = list_runs(state_dir / "runs")
    metrics_path = Path(summary.folder) / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics["recall_by_chapter"] = {"X": {"gold": "a"}}
    metrics_path.write_text(json.dumps(metrics), encoding="utf-8")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("could not be read" in e.value for e in at.error), [e.value for e in at.error]
    assert len(at.tabs) == 4 and any(b.label == "Run evaluation" for b in at.button)  # New run still renders
