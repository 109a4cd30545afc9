"""Coder decisions as training data: each submitted chart is a coded note."""

from __future__ import annotations

from typing import Any

from core.kb.tabular import normalize_code

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
