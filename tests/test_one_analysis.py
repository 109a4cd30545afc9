"""One coding run reads the note once: one sentence split and one dictionary pass, whatever the strategy (issue #22).

Every step (the dictionary path, the ranker and its merge, the LLM steps, the reconciler) reads the run's
``NoteAnalysis``; none splits the note into sentences or matches the dictionary over it again. Counted by wrapping
``core.nlp.sentences.sentence_spans`` and ``DictionaryLinker.find`` around a second note, once the knowledge base,
the dictionary and the ranker are loaded (building them matches the dictionary over the coded notes).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

import core.nlp.sentences
from core.candidates.linker import DictionaryLinker
from core.llm.fake import FakeBackend
from core.schema import CodingResult
from core.strategies.runner import code_note

WARM_UP = "Paciente con fiebre."
SPANISH_NOTE = (
    "Varón de 67 años con hipertensión arterial y diabetes mellitus tipo 2. Ingresa por neumonía basal derecha e "
    "insuficiencia cardiaca. No presenta fiebre.\nAntecedentes: fibrilación auricular."
)
ENGLISH_NOTE = (
    "A 67-year-old man with type 2 diabetes mellitus and hypertension was admitted with acute heart failure. "
    "He denies chest pain. Fever since yesterday."
)


@pytest.fixture
def count_passes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], AbstractContextManager[Counter[str]]]:
    """``with count_passes() as counts:`` counts the sentence splits and dictionary passes inside the block."""
    real_split, real_find = core.nlp.sentences.sentence_spans, DictionaryLinker.find
    counts: Counter[str] = Counter()
    active = False

    def split(text: str, language: str) -> list[tuple[int, int]]:
        counts["sentence_splits"] += active
        return real_split(text, language)

    def find(self: DictionaryLinker, text: str, *args: object, **kwargs: object):  # noqa: ANN202
        counts["dictionary_passes"] += active
        return real_find(self, text, *args, **kwargs)

    monkeypatch.setattr(core.nlp.sentences, "sentence_spans", split)
    monkeypatch.setattr(DictionaryLinker, "find", find)

    @contextmanager
    def counting() -> Iterator[Counter[str]]:
        nonlocal active
        counts.clear()
        active = True
        try:
            yield counts
        finally:
            active = False

    return counting


def _fake_model(prompt: str) -> str:
    """Answers every step's prompt: a snippet for the evidence step, the first option elsewhere."""
    if '"snippets"' in prompt:
        return json.dumps({"snippets": ["heart failure"]})
    return "<answer>1</answer>"


def _code_twice(count_passes, text: str, settings, kb, **kwargs: object) -> tuple[CodingResult, Counter[str]]:  # noqa: ANN001
    code_note(WARM_UP, settings, kb=kb, **kwargs)  # loads the dictionary, the ranker and the index navigator
    with count_passes() as counts:
        result = code_note(text, settings, kb=kb, **kwargs)
    return result, Counter(counts)


@pytest.mark.parametrize("strategy", ["clh", "ranker"])
def test_a_coding_run_reads_the_note_once(count_passes, kb, base_settings, strategy: str) -> None:
    """The default settings (strategy clh, here without a model: the dictionary path, the ranker merge and the
    reconciler) and the ranker strategy."""
    settings = base_settings.with_overrides(language="es", strategy=strategy)
    result, counts = _code_twice(count_passes, SPANISH_NOTE, settings, kb)
    assert {"E11.9", "J18.9"} <= {c.code for c in result.codes}  # it did code the note
    assert counts == {"sentence_splits": 1, "dictionary_passes": 1}


def test_an_llm_strategy_reads_the_note_once(count_passes, kb, base_settings) -> None:
    """dictionary-llm with a scripted model over the real knowledge base: its steps, the merge and the reconciler."""
    settings = base_settings.with_overrides(language="es", strategy="dictionary-llm", backend="ollama")
    backend = FakeBackend(_fake_model)
    result, counts = _code_twice(count_passes, SPANISH_NOTE, settings, kb, backend=backend)
    assert backend.calls and result.strategy == "dictionary-llm"
    assert counts == {"sentence_splits": 1, "dictionary_passes": 1}


def test_the_clh_steps_read_the_note_once(count_passes, mini_kb) -> None:
    """The four CLH steps with a scripted model (small knowledge base): the navigator scores a mention's codes from
    the analysis, not by matching its words again."""
    settings = mini_kb.settings.with_overrides(language="en", strategy="clh", backend="ollama", reconciler=False)
    backend = FakeBackend(_fake_model)
    result, counts = _code_twice(count_passes, ENGLISH_NOTE, settings, mini_kb, backend=backend)
    assert [t.step for t in result.trace][:4] == ["evidence", "navigator", "validator", "reconciler"]
    assert any("alphabetic index" in call.prompt for call in backend.calls)  # the navigator asked the model
    assert counts == {"sentence_splits": 1, "dictionary_passes": 1}
