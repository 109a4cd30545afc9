"""Shared by tests/test_retrain.py and tests/test_ui_retrain.py: small synthetic CodiEsp folders, a knowledge base
with toy dictionaries over them, submitted charts, and a 10-round booster so each retrain takes a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.candidates.linker import DictionaryLinker
from core.kb.builder import KnowledgeBuilder
from core.kb.knowledge import KnowledgeBase
from core.kb.terms import TermEntry
from core.schema import CodeSuggestion, CodingResult
from core.settings import Settings
from core.store import DecisionStore

ENTRIES = [
    TermEntry("tos", "R05.9", "codiesp-train", "seed"),
    TermEntry("ruido", "R09.89", "codiesp-train", "seed"),
    TermEntry("fiebre", "R50.9", "codiesp-train", "seed"),
    TermEntry("hipertension", "I10", "tabular"),
]


def synthetic_note(i: int) -> tuple[str, set[str]]:
    text = f"Caso {i}. Presenta tos y ruido respiratorio."
    gold = {"r05.9"}  # "ruido" is never coded in the corpus; the coders' charts below code it
    if i % 3 == 0:
        text += " Fiebre alta."
        gold.add("r50.9")
    if i % 4 == 0:
        text += " Antecedente de hipertension."
        gold.add("i10")
    return text, gold


def write_split(root: Path, split: str, cases: dict[str, tuple[str, set[str]]]) -> None:
    folder = root / split / "text_files"
    folder.mkdir(parents=True)
    rows = []
    for case_id, (text, gold) in cases.items():
        (folder / f"{case_id}.txt").write_text(text, encoding="utf-8")
        rows += [f"{case_id}\t{code}" for code in sorted(gold)]
    (root / split / f"{split}D.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_codiesp(data_dir: Path) -> str:
    """A 24-case train split and a 6-case dev split under ``data_dir/codiesp``; returns the first dev text."""
    write_split(data_dir / "codiesp", "train", {f"T{i:03d}": synthetic_note(i) for i in range(24)})
    write_split(data_dir / "codiesp", "dev", {f"D{i:03d}": synthetic_note(100 + i) for i in range(6)})
    return synthetic_note(100)[0]


def make_kb(settings: Settings, tabular) -> KnowledgeBase:  # noqa: ANN001
    """A knowledge base over the synthetic data with the session's tabular list, an empty alphabetical index (the
    ranker path does not use it, and building it from the tabular list takes seconds) and toy dictionaries fitted on
    the coded notes."""
    from core.datasets.codiesp import CodiEsp
    from core.kb.index import build_index

    corpus = CodiEsp.from_settings(settings)
    assert corpus is not None, "write_codiesp first"
    linkers = {}
    for splits in (("train",), ("dev", "train")):
        linker = DictionaryLinker("es", ENTRIES)
        linker.fit(corpus.coded_notes(splits, "es", tabular.current_code), "codiesp:" + "+".join(splits))
        linkers[("es", splits)] = linker
    return KnowledgeBuilder(settings, tabular=tabular, index=build_index([], tabular, include_tabular=False),
                            linkers=linkers).build()


def submit(store: DecisionStore, text: str, codes: list[str], language: str = "es") -> int:
    """Store a note, a run and a submitted chart with ``codes``; returns the note id."""
    note_id = store.add_note(text, "paste", language)
    result = CodingResult(note_sha256=str(note_id), language=language, strategy="ranker", backend="none",
                          codes=[CodeSuggestion(code=c) for c in codes])
    run_id = store.save_run(note_id, result, settings={}, user="coder")
    store.submit(run_id, [{"code": c} for c in codes], user="coder")
    return note_id


def add_decisions(store: DecisionStore, n: int = 10) -> None:
    for i in range(n):
        submit(store, f"Nota {i}: tos y ruido respiratorio persistente.", ["R05.9", "R09.89"])


def use_small_boosting(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 boosting rounds instead of 200 (the ranker imports the class when it trains)."""
    import sklearn.ensemble

    real = sklearn.ensemble.HistGradientBoostingClassifier

    def small(**kwargs: object) -> object:
        return real(**(kwargs | {"max_iter": 10}))

    monkeypatch.setattr(sklearn.ensemble, "HistGradientBoostingClassifier", small)
