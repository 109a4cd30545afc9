"""What the convention tests share: the shared data folder, and a note coder on the real knowledge base with the
default path (no LLM, no dense retrieval)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.schema import CodingResult
from core.settings import PROJECT_ROOT, load_settings

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED_DATA / "codiesp").is_dir(), reason=f"no shared data at {SHARED_DATA}")


def note_coder(kb) -> Callable[..., CodingResult]:
    """``run(text, language="en", **settings overrides)`` codes a note as the app's default path does."""
    from core.strategies.runner import code_note

    def run(text: str, language: str = "en", **overrides: object) -> CodingResult:
        settings = load_settings(Path("/nonexistent-config.toml"), data_dir=SHARED_DATA, language=language,
                                 backend="none", embedding_model="none", **overrides)
        return code_note(text, settings, kb=kb)

    return run


def code_set(result: CodingResult) -> set[str]:
    """The codes of a result, as a set."""
    return {c.code for c in result.codes}


def conventions_log(result: CodingResult) -> list[dict]:
    """The conventions step's log: one row per change, with its rule."""
    return next(t for t in result.trace if t.step == "conventions").candidates


def coded(result: CodingResult) -> list[str]:
    """The codes of a result, in sequence order."""
    return [c.code for c in result.codes]
