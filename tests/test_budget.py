"""Prompt budgets follow the configured context: today's sizes at the default, more room with a larger context."""

from __future__ import annotations

import json

from core.llm.budget import MIN_CHARS, PromptBudget
from core.llm.fake import FakeBackend
from core.settings import Settings
from core.strategies.clh.context import StepContext
from core.strategies.clh.evidence import find_evidence


def test_the_default_context_gives_the_sizes_the_prompts_were_written_for() -> None:
    defaults = Settings()
    budget = PromptBudget.from_settings(defaults)
    assert (defaults.num_ctx, defaults.max_tokens) == (4096, 512)
    assert (budget.evidence_chunk, budget.guidance, budget.guidance_small, budget.note) == (1500, 1500, 600, 2500)


def test_a_larger_context_gives_larger_budgets_and_a_longer_answer_smaller_ones() -> None:
    default = PromptBudget()
    larger = PromptBudget.from_settings(Settings(num_ctx=16384))
    for part in ("evidence_chunk", "guidance", "guidance_small", "note"):
        assert getattr(larger, part) > getattr(default, part)
    assert larger.note == round(2500 * (16384 - 512) / (4096 - 512))  # proportional to the prompt's room
    assert PromptBudget(4096, 2048).note < default.note  # the answer's tokens come out of the same context
    assert PromptBudget(512, 512).evidence_chunk == MIN_CHARS  # no room left: never zero


def test_the_evidence_step_reads_the_note_in_chunks_of_the_contexts_size(mini_kb) -> None:
    note = " ".join(f"Sentence {i} says the patient has hypertension." for i in range(80))  # ~3,800 characters

    def chunks_asked(num_ctx: int) -> list[int]:
        backend = FakeBackend(lambda prompt: json.dumps({"snippets": []}))
        settings = mini_kb.settings.with_overrides(backend="ollama", num_ctx=num_ctx)
        find_evidence(StepContext(note, settings, mini_kb, backend))
        return [len(call.prompt) for call in backend.calls]

    small, large = chunks_asked(4096), chunks_asked(16384)
    assert len(small) == 3 and len(large) == 1  # 1,500-character chunks, then one chunk holds the whole note
    assert max(large) > max(small)
