"""Typed data passed between pipeline steps, stored with each run and read by the UI and evaluator."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Assertion = Literal["present", "negated", "possible", "historical", "family", "hypothetical"]
Level = Literal["error", "warning", "info"]


class Span(BaseModel):
    """Character offsets into the original note text (end exclusive)."""

    start: int
    end: int
    text: str


class Mention(BaseModel):
    """A piece of evidence found in the note, with the codes it may point to."""

    span: Span
    source: str  # e.g. "dictionary:codiesp-train", "dictionary:index", "llm", "learned"
    term: str = ""  # the dictionary / index term it matched
    codes: list[str] = Field(default_factory=list)  # candidate codes, best first
    score: float = 0.0
    assertion: Assertion = "present"
    assertion_cue: str = ""  # the trigger word that set the assertion, for the audit trail

    @property
    def is_codable(self) -> bool:
        return self.assertion in ("present", "historical")


class CodeSuggestion(BaseModel):
    code: str
    description: str = ""
    evidence: list[Span] = Field(default_factory=list)
    source: str = ""
    score: float = 0.0
    rationale: str = ""
    step: str = ""  # which step produced / last changed it
    status: Literal["code", "candidate"] = "code"


class EditMessage(BaseModel):
    level: Level
    code: str = ""
    message: str
    related: list[str] = Field(default_factory=list)


class StepTrace(BaseModel):
    """What one step saw, chose and why: shown in the UI, stored with the run, read by the evaluator."""

    step: str
    prompt_template: str | None = None
    prompt_version: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    candidates: list[Any] = Field(default_factory=list)
    raw_answer: str | None = None
    parsed: Any = None
    rationale: str = ""
    output_codes: list[str] = Field(default_factory=list)
    duration_ms: float = 0.0
    fallback: str | None = None  # why the deterministic path was used, if it was
    notes: list[str] = Field(default_factory=list)


class CodingResult(BaseModel):
    note_sha256: str
    language: str
    strategy: str
    backend: str
    model: str = ""
    codes: list[CodeSuggestion] = Field(default_factory=list)
    candidates: list[CodeSuggestion] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    messages: list[EditMessage] = Field(default_factory=list)
    trace: list[StepTrace] = Field(default_factory=list)
    resources: dict[str, Any] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def ranked_codes(self) -> list[str]:
        """Codes then candidates, in order, without duplicates (used for MAP)."""
        seen: dict[str, None] = {}
        for item in [*self.codes, *self.candidates]:
            seen.setdefault(item.code, None)
        return list(seen)


def copy_suggestion(suggestion: CodeSuggestion) -> CodeSuggestion:
    """``suggestion.model_copy(deep=True)`` without ``copy.deepcopy``'s generic walk (every field but the evidence
    is immutable): the merge and the reconciler copy every code of every note."""
    clone = suggestion.model_copy()
    clone.__dict__["evidence"] = [span.model_copy() for span in suggestion.evidence]
    return clone

