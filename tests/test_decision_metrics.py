"""Decision metrics on a hand-built set of decisions, with rates computed by hand in the comments."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.evaluation import decision_metrics as dm
from core.schema import CodeSuggestion, CodingResult
from core.store import DecisionStore

# id -> (run, code, status, step)
SUGGESTIONS = {
    1: (1, "E11.9", "code", "link"),
    2: (1, "I10", "code", "verify"),
    3: (1, "J45.909", "code", "link"),
    4: (1, "R07.9", "candidate", "retrieve"),
    5: (1, "K21.9", "candidate", "retrieve"),  # never decided
    6: (2, "E78.5", "code", "link"),
    7: (2, "I10", "code", "verify"),
    8: (2, "N18.3", "candidate", "retrieve"),
}


def suggestion_rows() -> list[dict[str, Any]]:
    return [
        {"id": sid, "run_id": run, "code": code, "status": status, "step": step}
        for sid, (run, code, status, step) in SUGGESTIONS.items()
    ]


def decision(
    did: int, run: int, code: str, action: str, user: str, day: str, sug: int | None = None, **extra: Any
) -> dict[str, Any]:
    status, step = (SUGGESTIONS[sug][2], SUGGESTIONS[sug][3]) if sug else (None, None)
    return {
        "id": did,
        "run_id": run,
        "note_id": run * 10,
        "suggestion_id": sug,
        "code": code,
        "action": action,
        "replacement_code": extra.get("replacement_code"),
        "reason": extra.get("reason", ""),
        "user": user,
        "created_at": f"2024-05-{day}T10:{did:02d}:00+00:00",
        "suggestion_status": status,
        "suggestion_step": step,
    }


DECISIONS = [
    decision(1, 1, "E11.9", "accept", "ana", "01", 1),
    decision(2, 1, "I10", "accept", "ana", "01", 2),
    decision(3, 1, "I10", "reject", "ben", "02", 2, reason="not documented"),  # overrides #2
    decision(4, 1, "J45.909", "edit", "ana", "01", 3, replacement_code="J45.20"),  # same category J45
    decision(5, 1, "R07.9", "accept", "ana", "01", 4),  # candidate promoted
    decision(6, 1, "Z79.4", "add", "ana", "01"),  # miss
    decision(7, 2, "E78.5", "edit", "ben", "02", 6, replacement_code="I25.10"),  # other category
    decision(8, 2, "I10", "reject", "ben", "02", 7, reason=" not documented "),
    decision(9, 2, "N18.3", "reject", "ben", "02", 8),  # candidate, no reason
    decision(10, 2, "Z87.891", "add", "ben", "02"),
    decision(11, 2, "Z87.891", "reject", "ben", "02"),  # coder withdrew their own addition
    decision(12, 2, "F17.210", "add", "ben", "02"),  # miss
]


@pytest.fixture
def finals() -> pd.DataFrame:
    return dm.final_decisions(DECISIONS)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def test_final_decisions(finals: pd.DataFrame) -> None:
    assert len(finals) == 10  # 12 rows, I10 (run 1) and Z87.891 decided twice
    outcomes = {(r["run_id"], r["code"]): r["outcome"] for r in finals.to_dict("records")}
    assert outcomes == {
        (1, "E11.9"): "accepted",
        (1, "I10"): "rejected",
        (1, "J45.909"): "edited",
        (1, "R07.9"): "accepted",
        (1, "Z79.4"): "added",
        (2, "E78.5"): "edited",
        (2, "I10"): "rejected",
        (2, "N18.3"): "rejected",
        (2, "Z87.891"): "withdrawn",
        (2, "F17.210"): "added",
    }
    i10 = finals[(finals["run_id"] == 1) & (finals["code"] == "I10")].iloc[0]
    assert i10["user"] == "ben" and i10["n_decisions"] == 2 and i10["step"] == "verify"


def test_latest_decision_follows_id_not_input_order() -> None:
    shuffled = list(reversed(DECISIONS))
    assert (
        dm.final_decisions(shuffled)
        .sort_values(["run_id", "code"])
        .reset_index(drop=True)
        .equals(dm.final_decisions(DECISIONS).sort_values(["run_id", "code"]).reset_index(drop=True))
    )


def test_acceptance_and_precision(finals: pd.DataFrame) -> None:
    # Codes: E11.9 accepted; I10 x2 rejected; J45.909, E78.5 edited -> 1 / 5.
    # Candidates: R07.9 accepted, N18.3 rejected -> 1 / 2.
    assert dm.acceptance_rates(finals) == {
        "code": {"decided": 5, "accepted": 1, "rejected": 2, "edited": 2, "acceptance_rate": pytest.approx(0.2)},
        "candidate": {"decided": 2, "accepted": 1, "rejected": 1, "edited": 0, "acceptance_rate": pytest.approx(0.5)},
    }
    assert dm.precision(finals) == pytest.approx(0.2)
    assert dm.precision(finals, ("code", "candidate")) == pytest.approx(2 / 7)
    # Final codes: 2 accepted, 2 edited, 2 added (the withdrawn addition does not count) -> 2 / 6.
    assert dm.coder_recall(finals) == pytest.approx(1 / 3)


def test_rejection_reasons_edits_and_misses(finals: pd.DataFrame) -> None:
    assert _records(dm.rejection_reasons(finals)) == [
        {"reason": "not documented", "count": 2},
        {"reason": "(no reason)", "count": 1},
    ]
    assert _records(dm.edits(finals)) == [
        {"code": "E78.5", "replacement_code": "I25.10", "same_category": False, "count": 1},
        {"code": "J45.909", "replacement_code": "J45.20", "same_category": True, "count": 1},
    ]
    assert dm.edit_summary(finals) == {"edits": 2, "same_category": 1, "other_category": 1}
    assert _records(dm.added_codes(finals)) == [{"code": "F17.210", "count": 1}, {"code": "Z79.4", "count": 1}]


def test_per_step(finals: pd.DataFrame) -> None:
    rows = {r["step"]: r for r in _records(dm.per_step(finals))}
    assert rows["link"] == {
        "step": "link", "decided": 3, "accepted": 1, "rejected": 0, "edited": 2, "added": 0,
        "precision": pytest.approx(1 / 3),
    }  # fmt: skip
    assert rows["verify"]["decided"] == 2 and rows["verify"]["precision"] == 0.0
    assert rows["retrieve"]["precision"] == pytest.approx(0.5)
    assert rows["(coder)"] == {
        "step": "(coder)", "decided": 0, "accepted": 0, "rejected": 0, "edited": 0, "added": 2, "precision": None,
    }  # fmt: skip


def test_per_chapter(finals: pd.DataFrame) -> None:
    rows = {r["chapter"]: r for r in _records(dm.per_chapter(finals))}
    assert set(rows) == {"E", "F", "I", "J", "N", "R", "Z"}
    assert (rows["E"]["decided"], rows["E"]["precision"]) == (2, 0.5)
    assert (rows["I"]["decided"], rows["I"]["rejected"], rows["I"]["precision"]) == (2, 2, 0.0)
    assert (rows["Z"]["added"], rows["Z"]["decided"]) == (1, 0)  # Z87.891 withdrawn, Z79.4 added
    custom = dm.per_chapter(finals, chapter_of=lambda code: "circulatory" if code.startswith("I") else "other")
    assert list(custom["chapter"]) == ["circulatory", "other"]
    assert list(custom["decided"]) == [2, 5]


def test_per_coder_and_day(finals: pd.DataFrame) -> None:
    coders = {r["user"]: r for r in _records(dm.per_coder(finals))}
    assert coders["ana"] == {
        "user": "ana", "decided": 3, "accepted": 2, "rejected": 0, "edited": 1, "added": 1,
        "precision": pytest.approx(2 / 3),
    }  # fmt: skip
    assert coders["ben"] == {
        "user": "ben", "decided": 4, "accepted": 0, "rejected": 3, "edited": 1, "added": 1, "precision": 0.0,
    }  # fmt: skip
    days = _records(dm.per_day(finals))
    assert [(d["day"], d["decided"], d["accepted"], d["added"]) for d in days] == [
        ("2024-05-01", 3, 2, 1),
        ("2024-05-02", 4, 0, 1),
    ]
    activity = {(r["day"], r["action"]): r["count"] for r in _records(dm.activity_per_day(DECISIONS))}
    assert activity == {
        ("2024-05-01", "accept"): 3,
        ("2024-05-01", "edit"): 1,
        ("2024-05-01", "add"): 1,
        ("2024-05-02", "reject"): 4,
        ("2024-05-02", "edit"): 1,
        ("2024-05-02", "add"): 2,
    }


def test_summarise_fills_status_from_suggestions() -> None:
    bare = [{k: v for k, v in d.items() if not k.startswith("suggestion_") or k == "suggestion_id"} for d in DECISIONS]
    summary = dm.summarise(bare, suggestion_rows())
    assert summary["n_decisions"] == 12 and summary["n_final"] == 10
    assert summary["precision"] == pytest.approx(0.2)
    assert summary["acceptance"]["candidate"]["acceptance_rate"] == pytest.approx(0.5)
    assert summary["undecided"] == {"code": 0, "candidate": 1}  # K21.9
    assert set(summary["per_step"]["step"]) == {"link", "verify", "retrieve", "(coder)"}


def test_empty_input() -> None:
    summary = dm.summarise([], [])
    assert summary["precision"] is None and summary["coder_recall"] is None
    assert summary["acceptance"]["code"]["decided"] == 0
    for key in ("rejection_reasons", "edits", "added_codes", "per_step", "per_chapter", "per_coder", "per_day"):
        assert summary[key].empty, key


def test_compute_from_store(tmp_path: Path) -> None:
    store = DecisionStore(f"sqlite:///{tmp_path / 'metrics.sqlite'}")
    note_id = store.add_note("Diabetes e hipertensión.", "paste", "es")
    result = CodingResult(
        note_sha256="x",
        language="es",
        strategy="clh",
        backend="none",
        codes=[CodeSuggestion(code="E11.9", step="link"), CodeSuggestion(code="I10", step="verify")],
        candidates=[CodeSuggestion(code="I11.9", step="retrieve", status="candidate")],
    )
    run_id = store.save_run(note_id, result, {}, user="ana")
    store.record_decision(run_id, "E11.9", "accept", user="ana")
    store.record_decision(run_id, "I10", "edit", user="ana", replacement_code="I11.9", reason="heart disease")
    store.record_decision(run_id, "N18.3", "add", user="ana")
    summary = dm.compute(store)
    assert summary["acceptance"]["code"] == {
        "decided": 2, "accepted": 1, "rejected": 0, "edited": 1, "acceptance_rate": pytest.approx(0.5),
    }  # fmt: skip
    assert summary["undecided"] == {"code": 0, "candidate": 1}
    assert _records(summary["edits"]) == [
        {"code": "I10", "replacement_code": "I11.9", "same_category": False, "count": 1}
    ]
    assert _records(summary["added_codes"]) == [{"code": "N18.3", "count": 1}]
    assert dm.compute(store, user="nobody")["n_final"] == 0
