"""The instant default and the language model's refinement: no LLM call by default, a background job that reports
its steps and can be cancelled, and what changed between the two results."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import SHARED_DATA, needs_shared_data
from test_cli import run_cli

import core.strategies.registry as registry
from core.llm.fake import FakeBackend
from core.schema import CodeSuggestion, CodingResult
from core.settings import Settings, load_settings
from core.strategies.refine import (
    RefineJob,
    compare_results,
    instant_settings,
    unchanged_codes,
    why_not_refinable,
)
from core.strategies.runner import code_note

NOTE = ("A 67-year-old man with type 2 diabetes mellitus and hypertension was admitted with acute heart failure. "
        "He denies chest pain.")
EVIDENCE_ANSWER = '{"snippets": ["type 2 diabetes mellitus", "hypertension", "heart failure"]}'


def test_the_default_settings_code_without_a_language_model(mini_kb, monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    for name in ("CODER_BACKEND", "CODER_STRATEGY", "CODER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings(tmp_path / "no-config.toml")  # the built-in defaults
    assert (defaults.backend, defaults.strategy) == ("none", "clh")

    def no_model(settings: Settings) -> None:
        raise AssertionError("the default settings asked for a language model")

    monkeypatch.setattr(registry, "get_backend", no_model)
    settings = mini_kb.settings.with_overrides(backend=defaults.backend, strategy=defaults.strategy)
    result = code_note(NOTE, settings, kb=mini_kb)
    assert result.backend == "none" and result.model == ""
    assert {"E11.9", "I10"} <= {c.code for c in result.codes}
    assert not [t for t in result.trace if t.prompt_template or t.raw_answer is not None or t.fallback]
    assert any("backend 'none' runs the deterministic path" in n for t in result.trace for n in t.notes)


@needs_shared_data
def test_the_cli_codes_a_codiesp_note_without_a_language_model_by_default(base_settings,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODER_BACKEND", "CODER_STRATEGY", "CODER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    note = min((SHARED_DATA / "codiesp" / "dev" / "text_files").glob("*.txt"))
    out = run_cli("code", str(note), "--lang", "es", "--json", cache_dir=base_settings.cache_dir)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["backend"], result["model"]) == ("none", "") and result["codes"]
    assert not [t["step"] for t in result["trace"] if t.get("prompt_template") or t.get("raw_answer") is not None]
    assert "fell back" not in out.stderr and "llama" not in out.stderr.lower()


def test_refinable_needs_a_backend_and_an_llm_strategy(mini_kb) -> None:
    settings = mini_kb.settings
    assert "backend none" in why_not_refinable(settings.with_overrides(backend="none", strategy="clh"))
    assert "does not use a language model" in why_not_refinable(settings.with_overrides(backend="ollama",
                                                                                        strategy="ranker"))
    assert why_not_refinable(settings.with_overrides(backend="embedded", strategy="clh")) == ""
    assert instant_settings(settings.with_overrides(backend="ollama", model="m")).backend == "none"


def test_a_refinement_reports_its_steps_and_its_result(mini_kb) -> None:
    backend = FakeBackend([EVIDENCE_ANSWER, "<answer>1</answer>"])
    settings = mini_kb.settings.with_overrides(backend="ollama", strategy="clh")
    job = RefineJob(7, NOTE, settings, mini_kb, backend=backend).start()
    assert job.wait(60) and job.state == "done", job.error
    steps = [e.step for e in job.snapshot()]
    assert steps[:4] == ["evidence", "navigator", "validator", "reconciler"] and "edit-checks" in steps
    assert backend.calls and job.result is not None and job.result.backend == "ollama"
    assert job.result.trace[0].step == "refine" and "run #7" in job.result.trace[0].notes[0]
    assert job.elapsed >= 0 and job.ended is not None


def test_a_cancelled_refinement_stops_at_the_next_model_call(mini_kb) -> None:
    gate, asked = threading.Event(), threading.Event()

    def slow(prompt: str) -> str:
        asked.set()
        assert gate.wait(30), "the test never released the model"
        return EVIDENCE_ANSWER

    backend = FakeBackend(slow)
    job = RefineJob(1, NOTE, mini_kb.settings.with_overrides(backend="ollama", strategy="clh"), mini_kb,
                    backend=backend).start()
    assert asked.wait(30)  # the first model call is in flight
    job.cancel()
    assert job.state == "cancelling"
    gate.set()
    assert job.wait(30) and job.state == "cancelled" and job.result is None
    assert len(backend.calls) == 1  # the call in flight finished; no other started


def test_an_unavailable_backend_fails_the_job_with_the_reason(mini_kb) -> None:
    settings = mini_kb.settings.with_overrides(backend="ollama", strategy="clh", ollama_host="http://127.0.0.1:9",
                                               timeout_s=2.0)
    job = RefineJob(1, NOTE, settings, mini_kb).start()
    assert job.wait(30) and job.state == "failed"
    assert "not available" in job.error and "127.0.0.1:9" in job.error
    assert [e.step for e in job.snapshot()] == ["backend"]


def test_a_failing_refinement_never_raises(mini_kb, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.strategies.refine as refine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(refine, "code_note", broken)
    job = RefineJob(1, NOTE, mini_kb.settings.with_overrides(backend="ollama"), mini_kb,
                    backend=FakeBackend(["x"])).start()
    assert job.wait(30) and job.state == "failed" and "disk full" in job.error


def _result(codes: dict[str, str], candidates: dict[str, str]) -> CodingResult:
    return CodingResult(
        note_sha256="x", language="en", strategy="clh", backend="none",
        codes=[CodeSuggestion(code=c, rationale=r, status="code", step="ranker") for c, r in codes.items()],
        candidates=[CodeSuggestion(code=c, rationale=r, status="candidate") for c, r in candidates.items()],
    )


def test_compare_lists_every_change_with_both_rationales() -> None:
    before = _result({"I10": "dictionary", "E11.9": "dictionary", "R07.9": "chest pain"},
                     {"I50.9": "heart failure, below the threshold", "J18.9": "pneumonia?"})
    after = _result({"I10": "dictionary", "I50.9": "the model confirmed it", "Z79.4": "insulin"},
                    {"R07.9": "denied: a candidate", "F17.210": "smoker?"})
    changes = {c.code: c for c in compare_results(before, after)}
    assert {code: c.kind for code, c in changes.items()} == {
        "Z79.4": "added", "E11.9": "removed", "I50.9": "promoted", "R07.9": "demoted",
        "F17.210": "new candidate", "J18.9": "dropped candidate",
    }
    assert [c.kind for c in compare_results(before, after)][:4] == ["added", "removed", "promoted", "demoted"]
    assert changes["I50.9"].rationale_before.startswith("heart failure")
    assert changes["I50.9"].rationale_after == "the model confirmed it"
    assert changes["E11.9"].rationale_after == "" and changes["Z79.4"].rationale_before == ""
    assert unchanged_codes(before, after) == ["I10"]
    assert compare_results(before, before) == []
