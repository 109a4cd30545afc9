"""Retraining from coder decisions: leakage exclusion, clear errors, the before/after report, saving the active model
with its predecessor kept, rollback and the in-memory model being dropped. Small synthetic CodiEsp folders, toy
dictionaries and a 10-round booster (tests/retrain_helpers.py) keep every retrain to a few seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from retrain_helpers import add_decisions, make_kb, submit, use_small_boosting, write_codiesp

from core.kb.knowledge import KnowledgeBase
from core.ranking.ranker import RankerModel
from core.ranking.registry import rankers_for
from core.settings import Settings, load_settings
from core.store import DecisionStore
from core.training.feedback import normalise_text, split_leaking_notes
from core.training.retrain import (
    HEADLINE,
    RetrainError,
    RetrainReport,
    previous_ranker_info,
    restore_previous_ranker,
    retrain_from_decisions,
    submitted_chart_counts,
)


@pytest.fixture(autouse=True)
def small_boosting(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the flow: 10 boosting rounds make each fit take milliseconds."""
    use_small_boosting(monkeypatch)


@dataclass
class Env:
    kb: KnowledgeBase
    settings: Settings
    store: DecisionStore
    dev_text: str


@pytest.fixture
def env(tmp_path: Path, tabular) -> Env:  # noqa: ANN001
    dev_text = write_codiesp(tmp_path / "data")
    settings = load_settings(Path("/nonexistent-config.toml"), data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
                             state_dir=tmp_path / "state", embedding_model="none", backend="none", language="es")
    return Env(make_kb(settings, tabular), settings, DecisionStore(settings.database_url), dev_text)


def test_an_unusable_cache_dir_keeps_the_trained_ranker_in_memory(tmp_path: Path, tabular) -> None:  # noqa: ANN001
    """The cache dir is a file (or read-only): the ranker is trained and used, its save only warns."""
    write_codiesp(tmp_path / "data")
    (tmp_path / "not-a-dir").write_text("x")
    settings = load_settings(Path("/nonexistent-config.toml"), data_dir=tmp_path / "data",
                             cache_dir=tmp_path / "not-a-dir", state_dir=tmp_path / "state", embedding_model="none",
                             backend="none", language="es")
    model = rankers_for(make_kb(settings, tabular)).get("es")
    assert model is not None and model.metrics["notes"] == 30


def test_no_submitted_charts_is_a_clear_error(env: Env) -> None:
    with pytest.raises(RetrainError, match="No submitted charts in 'es'"):
        retrain_from_decisions(env.kb, env.settings, env.store)
    submit(env.store, "Patient with cough.", ["R05.9"], language="en")  # another language does not count
    with pytest.raises(RetrainError, match="No submitted charts in 'es'"):
        retrain_from_decisions(env.kb, env.settings, env.store)
    assert submitted_chart_counts(env.store) == {"en": 1}


def test_missing_eval_split_and_only_leaking_charts_are_clear_errors(env: Env) -> None:
    submit(env.store, "  " + env.dev_text.replace(" ", "\n "), ["R05.9"])  # a dev case pasted with other spacing
    with pytest.raises(RetrainError, match="No labelled 'test' split"):
        retrain_from_decisions(env.kb, env.settings, env.store, eval_split="test")
    with pytest.raises(RetrainError, match="are 'dev' cases"):
        retrain_from_decisions(env.kb, env.settings, env.store)
    assert not rankers_for(env.kb).path("es", ("dev", "train")).exists(), "nothing is saved when retraining cannot run"


def test_leaking_notes_are_split_off_by_normalised_text() -> None:
    from core.datasets.codiesp import Case

    cases = [Case("D1", "Dolor  torácico\nagudo.", "es")]
    notes = [("store-note-1", " Dolor torácico agudo. ", {"r07.9"}), ("store-note-2", "Otra nota.", {"i10"})]
    kept, excluded = split_leaking_notes(notes, cases)
    assert [n[0] for n in kept] == ["store-note-2"] and [n[0] for n in excluded] == ["store-note-1"]
    assert normalise_text("a \n\t b ") == "a b"


def test_retrain_reports_before_after_saves_and_rolls_back(env: Env) -> None:
    kb = env.kb
    old = rankers_for(kb).get("es")  # the app's current model: trained and saved now, and held in memory
    path = rankers_for(kb).path("es", ("dev", "train"))
    assert old is not None and path.is_file() and rankers_for(kb).get("es") is old
    add_decisions(env.store)
    leaked = submit(env.store, env.dev_text + "\n", ["R05.9", "R09.89"])
    steps: list[tuple[str, float]] = []

    report = retrain_from_decisions(kb, env.settings, env.store, progress=lambda step, m, done=None, total=None: steps.append((m, done)))

    # leakage: the dev case pasted as a chart is left out everywhere
    assert report.decision_notes == 11 and report.decision_notes_used == 10
    assert report.excluded == [f"store-note-{leaked}"] and report.n_excluded == 1
    # before / after: same training splits, scored on dev with the ranker strategy
    assert report.train_splits == ["train"] and report.eval_split == "dev" and report.n_eval_cases == 6
    assert report.before.model.trained_on == ["codiesp:train"]
    assert report.after.model.trained_on == ["codiesp:train", "decision-store"]
    assert report.before.model.fingerprint != report.after.model.fingerprint
    labels = [label for label, _ in HEADLINE]
    assert list(report.before.metrics) == labels == list(report.after.metrics)
    assert report.before.metrics["full-code F1"] > 0.5  # the toy dev split is easy: the scoring path works
    for row in report.table():
        assert row["delta"] == pytest.approx(row["after"] - row["before"], abs=1e-4)
    assert {"before_train_s", "before_score_s", "after_train_s", "after_score_s", "active_train_s", "total_s"} <= set(
        report.timings_s)
    assert steps[-1] == ("Done", 1.0) and all(0 <= f <= 1 for _, f in steps)
    # JSON round trip (the UI keeps the report in the session)
    assert RetrainReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report

    # the active model: default splits + decisions, saved; the old file kept as .previous; memo dropped
    assert report.active.trained_on == ["codiesp:dev+train", "decision-store"]
    assert report.active.path == str(path) and RankerModel.load(path).fingerprint == report.active.fingerprint
    assert report.previous is not None and report.previous.fingerprint == old.fingerprint
    previous_path = path.with_name("ranker-es-dev+train.previous.pkl")
    assert RankerModel.load(previous_path).fingerprint == old.fingerprint
    assert json.loads(previous_path.with_suffix(".json").read_text())["fingerprint"] == old.fingerprint
    assert rankers_for(kb).get("es").fingerprint == report.active.fingerprint  # the app now uses the new model
    assert previous_ranker_info(kb, "es").fingerprint == old.fingerprint

    # rollback: swaps the files and drops the memo; a second restore undoes the first
    restored = restore_previous_ranker(kb, "es")
    assert restored.fingerprint == old.fingerprint and RankerModel.load(path).fingerprint == old.fingerprint
    assert rankers_for(kb).get("es").fingerprint == old.fingerprint
    assert RankerModel.load(previous_path).fingerprint == report.active.fingerprint
    assert json.loads(path.with_suffix(".json").read_text())["fingerprint"] == old.fingerprint
    restore_previous_ranker(kb, "es")
    assert rankers_for(kb).get("es").fingerprint == report.active.fingerprint


def test_restore_without_previous_is_a_clear_error(env: Env) -> None:
    with pytest.raises(RetrainError, match="No previous 'es' model"):
        restore_previous_ranker(env.kb, "es")
    assert previous_ranker_info(env.kb, "es") is None


def test_an_upgrade_retrains_the_active_model_with_the_coders_feedback(env: Env) -> None:
    """The feature code changed since the active model (trained on submitted charts) was saved: the knowledge base
    retrains it, and the charts stay in its training data."""
    rankers_for(env.kb).get("es")
    add_decisions(env.store)
    retrain_from_decisions(env.kb, env.settings, env.store)
    path = rankers_for(env.kb).path("es", ("dev", "train"))
    model = RankerModel.load(path)
    assert "decision-store" in model.trained_on
    model.code_version = "written-by-an-older-version"
    model.save(path)
    rankers_for(env.kb).forget("es")
    retrained = rankers_for(env.kb).get("es")
    assert retrained.code_version != "written-by-an-older-version"
    assert retrained.trained_on == ["codiesp:dev+train", "decision-store"] and retrained.metrics["notes"] == 40


def test_cli_from_decisions_and_restore(env: Env, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import core.kb.knowledge
    from core.cli import main

    monkeypatch.setattr(core.kb.knowledge, "get_knowledge", lambda settings: env.kb)
    monkeypatch.setenv("CODER_DB_URL", env.settings.database_url)
    base = ["train", "--lang", "es", "--config", "/nonexistent-config.toml"]
    assert main([*base, "--from-decisions"]) == 2
    assert "error: No submitted charts in 'es'" in capsys.readouterr().err
    assert main([*base, "--restore-previous"]) == 2
    assert "No previous 'es' model" in capsys.readouterr().err

    add_decisions(env.store, 6)
    assert main([*base, "--from-decisions", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "full-code F1" in out and "category F1" in out and "MAP" in out and "decision notes: 6 used, 0 excluded" in out
    assert main([*base, "--from-decisions", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_eval_cases"] == 6 and data["previous"]["trained_on"] == ["codiesp:dev+train", "decision-store"]
    assert set(data["deltas"]) == {label for label, _ in HEADLINE}
    assert main([*base, "--restore-previous", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["restored"] == data["previous"]["name"]
    # Plain training over the app's model keeps the one it replaces (here: trained on coders' charts).
    active = rankers_for(env.kb).path("es", ("dev", "train"))
    before = RankerModel.load(active)
    assert main([*base, "--split", "dev,train"]) == 0
    assert "--restore-previous` puts it back" in capsys.readouterr().err
    assert previous_ranker_info(env.kb, "es").fingerprint == before.fingerprint
    # --with-decisions learns from the charts; a chart of a dev case is left out of a model trained on train only.
    submit(env.store, env.dev_text, ["R05.9", "R09.89"])
    assert main([*base, "--split", "train", "--with-decisions"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["decision_store_notes"] == 6 and "1 submitted chart(s) left out" in captured.err
