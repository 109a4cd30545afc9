"""Coder decisions as training data: each submitted chart is a coded note."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.datasets.codiesp import Case, load_split
from core.kb.tabular import normalize_code

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

log = logging.getLogger(__name__)
Note = tuple[str, str, set[str]]


def notes_from_store(store: Any, language: str) -> list[Note]:
    """The latest submission per note coded in ``language`` (the run's language, not the note's first one):
    accepted, edited-to and added codes are its gold codes; suggestions the coder rejected are then negatives
    because they are candidates that are not in the gold set."""
    latest: dict[int, dict[str, Any]] = {}
    for submission in store.submissions():
        if submission.get("language", "") == language:
            latest[submission["note_id"]] = submission  # oldest first, so the last one wins
    notes: list[Note] = []
    for note_id, submission in sorted(latest.items()):
        note = store.get_note(note_id)
        codes = {normalize_code(item["code"]) for item in submission["codes"] if item.get("code")}
        notes.append((f"store-note-{note_id}", note["text"], codes))
    return notes


def normalise_text(text: str) -> str:
    """Whitespace-normalised text: a chart pasted with other line breaks is still the same case."""
    return " ".join(text.split())


def split_leaking_notes(notes: list[Note], eval_cases: list[Case]) -> tuple[list[Note], list[Note]]:
    """(kept, excluded): decision notes whose whitespace-normalised text equals a case of the evaluation split are
    excluded, since training on them would score the model on its own answers."""
    eval_texts = {normalise_text(case.text) for case in eval_cases}
    kept: list[Note] = []
    excluded: list[Note] = []
    for note in notes:
        (excluded if normalise_text(note[1]) in eval_texts else kept).append(note)
    return kept, excluded


def decision_notes(kb: KnowledgeBase, language: str, splits: tuple[str, ...]) -> tuple[list[Note], list[Note]]:
    """(kept, left out): submitted charts of ``language`` for a model learning from ``splits``; a chart whose text is
    a case of another labelled split is left out (an evaluation there would score the model on its own answers)."""
    from core.store import DecisionStore

    try:
        notes = notes_from_store(DecisionStore(kb.settings.database_url), language)
    except Exception as exc:  # noqa: BLE001 - an unreachable store must not stop the app from coding
        log.warning("could not read the decision store for the ranker's feedback: %s", exc)
        return [], []
    root = kb.codiesp_root
    held_out = [case for split in kb.labelled_splits() if split not in splits and root is not None
                for case in load_split(root, split, language)]  # type: ignore[arg-type]
    return split_leaking_notes(notes, held_out)
