"""The supervised ranker: learns from coded notes, round-trips, keeps unseen codes, learns from coders."""

from pathlib import Path

import numpy as np
import pytest

from core.candidates.linker import DictionaryLinker
from core.kb.terms import TermEntry
from core.nlp.analysis import analyze
from core.ranking.ranker import (
    FEATURES,
    Candidate,
    CodePriors,
    RankerModel,
    _best_thresholds,
    extract_candidates,
    feature_code_version,
    train_ranker,
)
from core.schema import CodeSuggestion, CodingResult, Span
from core.store import DecisionStore
from core.strategies.ranked import likely_categories
from core.training.feedback import notes_from_store

ENTRIES = [
    TermEntry("tos", "R05.9", "codiesp-train", "seed"),
    TermEntry("ruido", "R09.89", "codiesp-train", "seed"),
    TermEntry("apendicitis aguda", "K35.80", "tabular"),
    TermEntry("fiebre", "R50.9", "codiesp-train", "seed"),
]


def toy_notes(n: int = 30) -> list[tuple[str, str, set[str]]]:
    notes = []
    for i in range(n):
        text = f"Caso {i}. Presenta tos y ruido ambiental."
        gold = {"R05.9"}  # "tos" is always coded, "ruido" never
        if i % 3 == 0:
            text += " Fiebre alta."
            gold.add("R50.9")
        notes.append((f"toy-{i}", text, gold))
    return notes


@pytest.fixture(scope="module")
def toy_model(tabular):
    linker = DictionaryLinker("es", ENTRIES)
    notes = toy_notes()
    linker.fit(notes, "toy")
    return linker, train_ranker(notes, linker, tabular, label="toy", folds=3)


def test_learns_a_separable_toy_code(toy_model, tabular):
    linker, model = toy_model
    rows = extract_candidates(analyze("Paciente con tos y ruido.", linker.language, linker), linker, tabular, model.priors)
    scores = dict(zip([r.code for r in rows], model.score(rows), strict=True))
    assert scores["R05.9"] > 0.8 > 0.2 > scores["R09.89"]
    assert model.metrics["notes"] == 30 and 0 < model.code_threshold < 1


def test_model_file_round_trips(toy_model, tabular, tmp_path: Path):
    linker, model = toy_model
    path = model.save(tmp_path / "ranker.pkl")
    loaded = RankerModel.load(path)
    rows = extract_candidates(analyze("tos", linker.language, linker), linker, tabular, model.priors)
    assert list(loaded.score(rows)) == list(model.score(rows))
    assert loaded.describe()["fingerprint"] == model.fingerprint
    assert loaded.code_version == feature_code_version() != ""  # the knowledge base retrains on a mismatch
    assert (tmp_path / "ranker.json").is_file()
    # Unreadable files are a ValueError, which the knowledge base and the retrain page answer by retraining /
    # refusing: junk, a file cut short, and one written by another code version (it names a class now gone).
    (tmp_path / "junk.pkl").write_bytes(b"not a model")
    (tmp_path / "short.pkl").write_bytes(path.read_bytes()[:100])
    (tmp_path / "other-version.pkl").write_bytes(b"ccore.ranker\nClassOfAnotherVersion\n)\x81.")
    for name in ("junk.pkl", "short.pkl", "other-version.pkl"):
        with pytest.raises(ValueError):
            RankerModel.load(tmp_path / name)


def test_unseen_code_is_still_suggested_through_open_set_path(toy_model, kb, tabular):
    from core.strategies.ranked import rank_codes

    linker, model = toy_model
    codes, candidates, trace = rank_codes(analyze("Apendicitis aguda.", "es", linker), linker, tabular, model,
                                          policy="coding")
    suggested = {c.code: c for c in [*codes, *candidates]}
    assert "K35.80" in suggested
    assert trace.step == "ranker"


def test_an_unseen_code_whose_term_coders_always_pass_over_is_not_listed(tabular):
    """"ambiental" is in every training note and never coded: its code is not listed, while "apendicitis aguda"
    (never seen, so nothing says coders pass it over) still is."""
    from core.strategies.ranked import rank_codes

    linker = DictionaryLinker("es", [*ENTRIES, TermEntry("ambiental", "Z77.9", "tabular")])
    notes = toy_notes()
    linker.fit(notes, "toy")
    model = train_ranker(notes, linker, tabular, label="toy", folds=3)
    codes, candidates, _ = rank_codes(analyze("Ruido ambiental. Apendicitis aguda.", "es", linker), linker, tabular,
                                      model, policy="coding")
    listed = {c.code for c in [*codes, *candidates]}
    assert "K35.80" in listed and "Z77.9" not in listed


def test_decision_store_feedback_changes_the_score(tabular, tmp_path: Path):
    linker = DictionaryLinker("es", ENTRIES)
    notes = toy_notes(30)
    linker.fit(notes, "toy")
    before = train_ranker(notes, linker, tabular, label="toy", folds=3)

    store = DecisionStore(f"sqlite:///{tmp_path / 'decisions.sqlite'}")
    for i in range(30):
        text = f"Nota {i}: ruido respiratorio persistente."
        note_id = store.add_note(text, "paste", "es")
        start = text.index("ruido")
        suggestion = CodeSuggestion(code="R09.89", evidence=[Span(start=start, end=start + 5, text="ruido")])
        result = CodingResult(note_sha256=str(i), language="es", strategy="ranker", backend="none",
                              codes=[suggestion])
        run_id = store.save_run(note_id, result, settings={}, user="coder")
        store.record_decision(run_id, "R09.89", "accept", user="coder")
        store.submit(run_id, [{"code": "R09.89", "origin": "suggested"}], user="coder")
    feedback = notes_from_store(store, "es")
    assert len(feedback) == 30 and feedback[0][2] == {"R09.89"}
    after = train_ranker(notes, linker, tabular, label="toy", extra_notes=feedback, folds=3)
    text = "Ruido respiratorio."
    p_before = before.score(extract_candidates(analyze(text, linker.language, linker), linker, tabular, before.priors))[0]
    p_after = after.score(extract_candidates(analyze(text, linker.language, linker), linker, tabular, after.priors))[0]
    assert p_after > p_before + 0.2
    assert after.trained_on == ["toy", "decision-store"]


def test_codes_unseen_in_training_get_their_own_threshold():
    # Seen codes are right from p=0.6 up; unseen codes are right at p=0.2 and above, wrong below.
    probabilities = np.array([0.9, 0.8, 0.6, 0.3, 0.25, 0.2, 0.1, 0.05])
    labels = np.array([1, 1, 1, 0, 1, 1, 0, 0])
    unseen = np.array([False, False, False, False, True, True, True, True])
    seen_threshold, open_set_threshold, f1 = _best_thresholds(probabilities, labels, unseen, missing_gold=0)
    assert 0.3 < seen_threshold <= 0.6 and 0.1 < open_set_threshold <= 0.2
    assert f1 == 1.0


def test_of_thresholds_as_good_as_the_best_the_one_showing_more_codes_wins():
    # Above 0.5 one right code (F1 2/3); from 0.4 down both right codes and two wrong ones (F1 2/3 too).
    probabilities = np.array([0.9, 0.5, 0.45, 0.4])
    labels = np.array([1, 0, 0, 1])
    unseen = np.zeros(4, dtype=bool)
    seen_threshold, _, f1 = _best_thresholds(probabilities, labels, unseen, missing_gold=0)
    assert seen_threshold <= 0.4 and f1 == pytest.approx(2 / 3)


def test_thresholds_are_tuned_under_the_assertion_policy_that_codes():
    # A negated mention coders coded anyway (CodiEsp's convention): the product never codes it, so under its policy
    # it is a miss at every threshold and the out-of-fold F1 says so.
    probabilities = np.array([0.9, 0.5, 0.2])
    labels = np.array([1, 1, 0])
    unseen = np.zeros(3, dtype=bool)
    never_coded = np.array([True, False, False])
    *_, f1_coding = _best_thresholds(probabilities, labels, unseen, 0, never_coded)
    *_, f1_codiesp = _best_thresholds(probabilities, labels, unseen, 0)
    assert f1_coding == pytest.approx(2 / 3) and f1_codiesp == 1.0


def test_the_model_keeps_thresholds_per_policy(toy_model):
    _, model = toy_model
    assert model.thresholds() == (model.code_threshold, model.open_set_threshold)
    assert set(model.policy_thresholds) == {"codiesp"} and model.thresholds("codiesp") == model.policy_thresholds["codiesp"]
    assert "out_of_fold_micro_f1_codiesp" in model.metrics


class _FixedThreshold:
    def threshold_for(self, row: Candidate, policy: str = "coding") -> float:
        return 0.34


def _row(code: str, *assertions: str) -> Candidate:
    return Candidate(code, {name: 1.0 for name in FEATURES}, [], [], list(assertions or ["present"]))


def test_a_likely_category_codes_its_most_probable_code():
    rows = [_row("C64.9"), _row("C64.1"), _row("R52"), _row("N28.9"), _row("N28.89"),
            _row("R50.9", "negated"), _row("R50.81", "negated"), _row("I10"), _row("I11.9")]
    probabilities = np.array([0.20, 0.19, 0.30, 0.10, 0.05, 0.30, 0.30, 0.50, 0.10])
    picks = likely_categories(rows, probabilities, _FixedThreshold(), "coding")
    # C64: 0.39 together; R52 alone is no category evidence; N28 0.15 is too little; R50 is negated; I10 is coded.
    assert picks == {"C64.9": pytest.approx(0.39)}
    assert set(likely_categories(rows, probabilities, _FixedThreshold(), "codiesp")) == {"C64.9", "R50.9"}


def test_merge_lets_the_ranker_decide_what_it_has_evidence_for_and_keeps_the_open_set(toy_model, tabular):
    from core.strategies.merge import STEP, merge_with_ranker

    linker, model = toy_model
    text = "Paciente con tos y ruido; neumonía en la radiografía."
    strategy_result = CodingResult(
        note_sha256="n", language="es", strategy="clh", backend="ollama",
        codes=[CodeSuggestion(code="R09.89", source="clh", evidence=[Span(start=17, end=22, text="ruido")]),
               CodeSuggestion(code="J18.9", source="clh", evidence=[Span(start=24, end=32, text="neumonía")])],
    )
    merged = merge_with_ranker(analyze(text, "es", linker), linker, strategy_result, tabular, model, policy="coding")
    codes = {s.code: s for s in merged.codes}
    candidates = {s.code: s for s in merged.candidates}
    assert "R05.9" in codes and "ranker p=" in codes["R05.9"].rationale  # confident, missed by the strategy: added
    assert "J18.9" in codes and "open set" in codes["J18.9"].rationale  # no ranker evidence: the strategy decides
    assert "R09.89" not in codes  # the ranker has evidence and a low score: never coded
    assert "R09.89" not in candidates or candidates["R09.89"].status == "candidate"
    assert [s.code for s in merged.codes][0] == "J18.9"  # the strategy's order first
    assert merged.strategy == "clh" and merged.trace[-1].step == STEP
    decisions = {d["code"]: d for d in merged.trace[-1].candidates}
    assert decisions["R09.89"]["strategy"] == "code" and decisions["R09.89"]["final"] == "candidate"
    assert strategy_result.codes[0].code == "R09.89" and len(strategy_result.trace) == 0  # input left untouched


def test_the_ranking_is_a_typed_result_whose_trace_is_built_from_it(toy_model, tabular):
    from core.strategies.ranked import rank_codes, rank_note

    linker, model = toy_model
    analysis = analyze("Paciente con tos y ruido. Fiebre alta.", "es", linker)
    ranking = rank_note(analysis, linker, tabular, model, policy="coding")
    assert set(ranking.scores) == {row.code for row in ranking.rows} >= {"R05.9", "R09.89"}
    assert ranking.scores["R05.9"] > 0.8 > 0.2 > ranking.scores["R09.89"]
    trace = ranking.trace()
    assert {row["code"]: row["p"] for row in trace.candidates} == ranking.scores
    assert trace.output_codes == [s.code for s in ranking.codes]
    codes, candidates, _ = rank_codes(analysis, linker, tabular, model, policy="coding")
    assert [s.code for s in codes] == [s.code for s in ranking.codes]
    assert [s.code for s in candidates] == [s.code for s in ranking.candidates]


def test_a_category_level_term_also_proposes_the_code_a_coder_completes_it_to(tabular):
    linker = DictionaryLinker("es", [TermEntry("infarto cerebral", "I63", "cie-who-es")])
    rows = {r.code: r for r in extract_candidates(analyze("Ingresa por infarto cerebral.", linker.language, linker), linker, tabular, CodePriors())}
    assert {"I63", "I63.9"} <= set(rows)
    assert rows["I63.9"].features["src_completed"] == 1.0 and rows["I63"].features["billable"] == 0.0


def test_features_tell_the_ranker_what_the_conventions_will_do(tabular):
    """A vague code beside a specific one of its category (absorbed later) and a combination code are features."""
    linker = DictionaryLinker("en", [
        TermEntry("heart failure", "I50.9", "index"),
        TermEntry("acute on chronic systolic heart failure", "I50.23", "index"),
        TermEntry("diabetic chronic kidney disease", "E11.22", "index"),
        TermEntry("cough", "R05.9", "index"),
    ])
    text = "Acute on chronic systolic heart failure. Heart failure clinic. Diabetic chronic kidney disease. Cough."
    rows = {r.code: r.features for r in extract_candidates(analyze(text, "en", linker), linker, tabular, CodePriors())}
    assert rows["I50.9"]["vague"] == 1.0 and rows["I50.9"]["specific_sibling"] == 1.0
    assert rows["I50.23"]["vague"] == 0.0 and rows["I50.23"]["specific_sibling"] == 0.0
    assert rows["E11.22"]["combination"] == 1.0 and rows["I50.23"]["combination"] == 0.0
    assert rows["R05.9"]["vague"] == 1.0 and rows["R05.9"]["specific_sibling"] == 0.0
    assert {"vague", "specific_sibling", "combination"} <= set(FEATURES)
