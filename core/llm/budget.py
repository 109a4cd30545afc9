"""Prompt budgets from the model's context: how much note, chunk or guidance text a prompt may carry.

A prompt holds ``num_ctx - max_tokens`` tokens (the context, less the answer's room), about
``CHARS_PER_TOKEN`` characters each. Every part of a prompt gets a fixed share of that room: the shares were sized
for the default context (4096 tokens, 512 for the answer), where they give the characters the prompts always had
(a 1,500-character chunk of the note for the evidence step, 2,500 characters of note for the seed variants, ...);
a larger context gives proportionally more, a smaller one less.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

CHARS_PER_TOKEN = 3.5  # clinical text in English or Spanish, measured on the embedded model's tokenizer (≈3.3–3.8)
REFERENCE_CONTEXT = 4096  # the defaults of settings.num_ctx and settings.max_tokens: the sizes below were set there
REFERENCE_ANSWER = 512
MIN_CHARS = 80  # a budget never falls below one short sentence, whatever the context

# Characters of each prompt part at the reference context.
EVIDENCE_CHUNK_CHARS = 1500  # one chunk of the note plus the evidence step's instructions
GUIDANCE_CHARS = 1500  # chapter guidance shown to the validator (models that reason first)
GUIDANCE_CHARS_SMALL = 600  # ... to schema-constrained small models (~100-200 prompt tokens/s on CPU)
NOTE_CHARS = 2500  # note text shown with the candidates (RAG, hierarchical, classifier-validator)


def prompt_chars(num_ctx: int, max_tokens: int) -> float:
    """Characters a prompt may hold: the context less the answer's tokens, in characters."""
    return max(num_ctx - max_tokens, 0) * CHARS_PER_TOKEN


@dataclass(frozen=True)
class PromptBudget:
    """The character budgets of one model's prompts (``num_ctx`` and ``max_tokens`` as configured)."""

    num_ctx: int = REFERENCE_CONTEXT
    max_tokens: int = REFERENCE_ANSWER

    @classmethod
    def from_settings(cls, settings: Settings) -> PromptBudget:
        return cls(settings.num_ctx, settings.max_tokens)

    @property
    def scale(self) -> float:
        """The prompt's room relative to the reference context's (1.0 at the defaults)."""
        return prompt_chars(self.num_ctx, self.max_tokens) / prompt_chars(REFERENCE_CONTEXT, REFERENCE_ANSWER)

    def chars(self, at_reference: int) -> int:
        """A part sized ``at_reference`` characters at the reference context, in this context."""
        return max(MIN_CHARS, round(at_reference * self.scale))

    @property
    def evidence_chunk(self) -> int:
        return self.chars(EVIDENCE_CHUNK_CHARS)

    @property
    def guidance(self) -> int:
        return self.chars(GUIDANCE_CHARS)

    @property
    def guidance_small(self) -> int:
        return self.chars(GUIDANCE_CHARS_SMALL)

    @property
    def note(self) -> int:
        return self.chars(NOTE_CHARS)
