"""Metric functions on toy inputs whose expected values were worked out by hand (see the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from core.datasets.codiesp import GoldSpan
from core.evaluation.metrics import (
    average_precision,
    category,
    category_map,
    chapter_of,
    exact_match_ratio,
    latency_summary,
    macro_prf,
    mean_average_precision,
    prf,
    recall_by_chapter,
    seen_unseen,
    span_prf,
    step_recall,
)

approx = pytest.approx


def test_category() -> None:
    assert category("N44.8") == "n44"
    assert category(" e11.65 ") == "e11"
    assert category("i10") == "i10"
    assert category("0TCB") == "0tc"


def test_prf_micro_counts() -> None:
    gold = {"a": {"x", "y"}, "b": {"z"}}
    pred = {"a": {"X", "w"}, "b": set(), "c": {"q"}}
    # tp (a,x); fp (a,w) (c,q); fn (a,y) (b,z)
    assert prf(gold, pred) == {"precision": approx(1 / 3), "recall": approx(1 / 3), "f1": approx(1 / 3),
                               "tp": 1, "fp": 2, "fn": 2}  # fmt: skip


def test_prf_distinct_pairs_and_empty() -> None:
    assert prf({"a": ["x", "x"]}, {"a": ["x", "X"]})["tp"] == 1
    assert prf({}, {}) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 0}


def test_prf_category_level() -> None:
    gold = {"a": {"n44.8", "n44.1", "e11.9"}}
    pred = {"a": {"N44.9", "i10"}}
    assert prf(gold, pred)["tp"] == 0
    # categories: gold {n44, e11}, pred {n44, i10} -> tp 1, fp 1, fn 1
    result = prf(gold, pred, level="category")
    assert (result["tp"], result["fp"], result["fn"]) == (1, 1, 1)
    assert result["f1"] == approx(0.5)
    with pytest.raises(ValueError):
        prf(gold, pred, level="chapter")  # type: ignore[arg-type]


def test_macro_prf() -> None:
    gold = {"a": {"x", "y"}, "b": {"x", "y"}}
    pred = {"a": {"x"}, "b": {"y", "z"}}
    # x: P 1, R 1/2, F 2/3; y: same; z (predicted only): P 0, R 0, F 0
    result = macro_prf(gold, pred)
    assert result == {"precision": approx(2 / 3), "recall": approx(1 / 3), "f1": approx(4 / 9), "n_codes": 3}
    assert macro_prf({}, {})["f1"] == 0.0
    # category level: x -> "x", all one-letter codes keep their identity
    assert macro_prf({"a": {"n44.8"}}, {"a": {"n44.1"}}, level="category")["f1"] == 1.0


def test_exact_match_ratio() -> None:
    gold = {"a": {"x"}, "b": {"y", "z"}, "c": {"w"}}
    pred = {"a": {"X"}, "b": {"y"}}
    assert exact_match_ratio(gold, pred) == approx(1 / 3)
    assert exact_match_ratio({"a": {"n44.8"}}, {"a": {"n44.1"}}, level="category") == 1.0


def test_average_precision() -> None:
    # hits at ranks 1 and 3 -> (1 + 2/3) / 3 gold codes
    assert average_precision({"x", "y", "z"}, ["x", "q", "y"]) == approx(5 / 9)
    assert average_precision(set(), ["x"]) == 0.0


def test_map_official_rules() -> None:
    gold = {"a": {"x", "y", "z"}, "b": {"u"}, "c": {"t"}}
    ranked = {
        "a": ["X", "q", "y", "x", "w"],  # duplicate x dropped -> [x, q, y, w]; AP = (1 + 2/3) / 3 = 5/9
        "b": ["v", "U"],  # AP = (1/2) / 1
        "c": [],  # no prediction: not in the mean
        "d": ["x"],  # not in gold: not in the mean
    }
    assert mean_average_precision(gold, ranked) == approx((5 / 9 + 1 / 2) / 2)


def test_map_valid_codes_filter() -> None:
    gold = {"a": {"x", "y", "z"}, "b": {"u"}, "e": {"s"}}
    ranked = {"a": ["x", "q", "y", "w"], "b": ["v", "u"], "e": ["zz"]}
    # valid only: a -> [x, y] AP = 2/3; b -> [u] AP = 1; e -> [] (all invalid) left out of the mean
    assert mean_average_precision(gold, ranked, valid_codes={"X", "y", "z", "u", "s"}) == approx((2 / 3 + 1) / 2)


def test_map_depth_cut() -> None:
    assert mean_average_precision({"a": {"x", "y"}}, {"a": ["q", "x", "y"]}, depth=2) == approx((1 / 2) / 2)


def test_map_category_level() -> None:
    gold = {"a": {"n44.8", "n44.1", "e11.9"}}  # categories {n44, e11}
    ranked = {"a": ["n44.9", "n44.8", "i10", "e11.65"]}  # -> [n44, i10, e11]; AP = (1 + 2/3) / 2
    assert category_map(gold, ranked) == approx(5 / 6)
    assert mean_average_precision(gold, ranked, level="category") == approx(5 / 6)
    # full level: only n44.8 at rank 2 -> (1/2) / 3
    assert mean_average_precision(gold, ranked) == approx(1 / 6)


def test_span_prf_official_rules() -> None:
    gold = [
        ("c1", "a", 100, 110),
        ("c1", "a", 200, 210),  # second reference of the same code: one gold (case, code)
        ("c1", "b", 50, 60),
        ("c2", "a", 10, 20),
    ]
    pred = [
        ("c1", "A", 195, 215),  # contains the 2nd reference, 5 before / 5 after -> TP (c1, a)
        ("c1", "b", 39, 60),  # starts 11 before -> no
        ("c1", "b", 52, 60),  # starts inside the gold span -> no
        ("c2", "a", 10, 31),  # ends 11 after -> no
        ("c2", "a", 0, 30),  # exactly 10 before and 10 after -> TP (c2, a)
        ("c3", "z", 0, 5),  # no gold at all
    ]
    result = span_prf(gold, pred)
    # distinct predicted pairs 4, distinct gold pairs 3, TP 2
    assert result == {"precision": 0.5, "recall": approx(2 / 3), "f1": approx(4 / 7), "tp": 2, "n_pred": 4, "n_gold": 3}
    assert span_prf(gold, pred, valid_codes={"a", "b"})["precision"] == approx(2 / 3)
    assert span_prf(gold, pred, tolerance=11)["tp"] == 3


def test_span_prf_with_goldspan_objects() -> None:
    gold = [GoldSpan("c", "DIAGNOSTICO", "s72.301a", "fractura fémur derecho", [(19, 27), (47, 60)])]
    assert span_prf(gold, [("c", "s72.301a", 19, 60)])["tp"] == 1  # first start .. last end
    assert span_prf(gold, [("c", "s72.301a", 19, 27), ("c", "s72.301a", 47, 60)])["tp"] == 0
    assert span_prf([], []) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_gold": 0}


@pytest.mark.parametrize(
    ("code", "chapter"),
    [
        ("a00.1", "1"), ("B99.9", "1"), ("c4a.1", "2"), ("d3a.01", "2"), ("d49.9", "2"), ("d50.0", "3"),
        ("e11.9", "4"), ("f32.9", "5"), ("g40", "6"), ("h59.0", "7"), ("h60.1", "8"), ("i10", "9"),
        ("j45.909", "10"), ("k35", "11"), ("l98.9", "12"), ("m1a.0", "13"), ("n44.8", "14"), ("o9a.1", "15"),
        ("p07", "16"), ("q62.11", "17"), ("r07.9", "18"), ("s72.301a", "19"), ("t88.7", "19"), ("v00", "20"),
        ("w19", "20"), ("y99.8", "20"), ("z87.891", "21"), ("u07.1", "22"),
        ("0tcb", "?"), ("bt41zzz", "?"), ("", "?"), ("e1", "?"),
    ],
)  # fmt: skip
def test_chapter_of(code: str, chapter: str) -> None:
    assert chapter_of(code) == chapter


def test_recall_by_chapter() -> None:
    gold = {"a": {"e11.9", "i10", "i50.9"}, "b": {"s72.301a", "z87.891", "r07.9"}}
    pred = {"a": {"i10", "k35"}, "b": {"s72.301a", "z87.891"}}
    assert recall_by_chapter(gold, pred, chapter_of) == {
        "4": {"gold": 1, "tp": 0, "recall": 0.0},
        "9": {"gold": 2, "tp": 1, "recall": 0.5},
        "18": {"gold": 1, "tp": 0, "recall": 0.0},
        "19": {"gold": 1, "tp": 1, "recall": 1.0},
        "21": {"gold": 1, "tp": 1, "recall": 1.0},
    }
    assert list(recall_by_chapter(gold, pred, lambda c: c[0])) == ["e", "i", "r", "s", "z"]


def test_seen_unseen() -> None:
    train = {"X", "y"}
    gold = {"a": {"x", "z"}, "b": {"y", "w"}}
    pred = {"a": {"x", "z", "q"}, "b": {"x", "r"}}
    result = seen_unseen(gold, pred, train)
    # seen gold (a,x) (b,y): found (a,x) -> R 1/2; seen preds (a,x) ok, (b,x) wrong -> P 1/2
    assert result["seen"]["recall"] == 0.5 and result["seen"]["precision"] == 0.5 and result["seen"]["f1"] == 0.5
    assert result["seen"]["n_gold"] == 2 and result["seen"]["n_pred"] == 2
    # unseen gold (a,z) (b,w): found (a,z) -> R 1/2; unseen preds (a,z) ok, (a,q) (b,r) wrong -> P 1/3
    assert result["unseen"]["recall"] == 0.5 and result["unseen"]["precision"] == approx(1 / 3)
    assert result["unseen"]["f1"] == approx(2 / 5)


def test_step_recall_keeps_order_and_counts_missing_cases_as_empty() -> None:
    gold = {"a": {"x", "y"}, "b": {"z"}}
    per_step = {
        "retrieve": {"a": {"x", "y", "q"}, "b": {"Z"}},
        "select": {"a": {"x"}, "b": {"z"}},
        "validate": {"a": {"x"}},  # no record for case b
    }
    result = step_recall(gold, per_step)
    assert list(result) == ["retrieve", "select", "validate"]
    assert result == {"retrieve": 1.0, "select": approx(2 / 3), "validate": approx(1 / 3)}


def test_latency_summary() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    result = latency_summary(values)
    assert result == {"n": 4, "p50": 25.0, "p95": approx(38.5), "mean": 25.0, "max": 40.0}
    rng = np.random.default_rng(0)
    sample = list(rng.exponential(100, size=37))
    assert latency_summary(sample)["p95"] == approx(float(np.percentile(sample, 95)))
    assert latency_summary([]) == {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0}
    assert latency_summary([7.0])["p95"] == 7.0
