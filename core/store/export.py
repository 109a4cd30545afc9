"""Rows as plain dicts for the UI and exports, and CSV that spreadsheets read safely."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import datetime
from typing import Any

from core.store.models import Decision, LearnedTerm, Note, Run, Submission, Suggestion

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- row -> dict


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _run_language(run: Run, note_language: str | None) -> str:
    """The language a run coded its note in. A note keeps the language it was first stored with, and the same
    text coded again in another language is another run: its decisions and charts belong to that language."""
    settings = run.settings if isinstance(run.settings, dict) else {}
    return str(settings.get("language") or (run.trace or {}).get("language") or note_language or "")


def _note_dict(note: Note, *, with_text: bool = True) -> dict[str, Any]:
    out = {
        "id": note.id,
        "sha256": note.sha256,
        "source": note.source,
        "language": note.language,
        "created_at": _iso(note.created_at),
    }
    if with_text:
        out["text"] = note.text
    return out


def _mapping(value: Any) -> dict[str, Any]:
    """A JSON object column as a dict ({} for a damaged or odd cell)."""
    return value if isinstance(value, dict) else {}


def _run_dict(run: Run, *, with_trace: bool) -> dict[str, Any]:
    out = {
        "id": run.id,
        "note_id": run.note_id,
        "created_at": _iso(run.created_at),
        "strategy": run.strategy,
        "backend": run.backend,
        "model": run.model,
        "settings": _mapping(run.settings),
        "prompt_versions": _mapping(run.prompt_versions),
        "resource_versions": _mapping(run.resource_versions),
        "timings": _mapping(run.timings),
        "user": run.user,
    }
    if with_trace:
        out["trace"] = run.trace
    return out


def _suggestion_dict(sug: Suggestion) -> dict[str, Any]:
    return {
        "id": sug.id,
        "run_id": sug.run_id,
        "code": sug.code,
        "description": sug.description,
        "status": sug.status,
        "rank": sug.rank,
        "score": sug.score,
        "source": sug.source,
        "step": sug.step,
        "rationale": sug.rationale,
        "evidence": sug.evidence or [],
    }


def _decision_dict(dec: Decision, sug: Suggestion | None = None) -> dict[str, Any]:
    return {
        "id": dec.id,
        "run_id": dec.run_id,
        "note_id": dec.note_id,
        "suggestion_id": dec.suggestion_id,
        "code": dec.code,
        "action": dec.action,
        "replacement_code": dec.replacement_code,
        "evidence": dec.evidence or [],
        "reason": dec.reason,
        "user": dec.user,
        "verified": bool(dec.verified),  # NULL (before sign-in existed) reads as unverified
        "created_at": _iso(dec.created_at),
        # Joined from the suggestion, so metrics can group by step / status without a second query.
        "suggestion_status": sug.status if sug is not None else None,
        "suggestion_step": sug.step if sug is not None else None,
        "suggestion_source": sug.source if sug is not None else None,
    }


def _submission_dict(sub: Submission, language: str = "") -> dict[str, Any]:
    return {
        "id": sub.id,
        "run_id": sub.run_id,
        "note_id": sub.note_id,
        "language": language,  # of the run: the note's own is the first language it was coded in
        "user": sub.user,
        "verified": bool(sub.verified),
        "created_at": _iso(sub.created_at),
        "codes": sub.codes or [],
    }


def _term_dict(term: LearnedTerm) -> dict[str, Any]:
    return {
        "id": term.id,
        "language": term.language,
        "term": term.term,
        "normalised": term.normalised,
        "code": term.code,
        "source": term.source,
        "decision_id": term.decision_id,
        "user": term.user,
        "created_at": _iso(term.created_at),
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """List / dict cells as JSON (they parse back); text a spreadsheet would run as a formula (a reason or a coder
    name starting with "=", "+", "-", "@") gets a leading apostrophe, which spreadsheets show as plain text."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _check_fmt(fmt: str) -> str:
    if fmt not in ("csv", "json"):
        raise ValueError(f"export format must be 'csv' or 'json', got {fmt!r}")
    return fmt


DECISION_COLUMNS = [
    "id", "run_id", "note_id", "suggestion_id", "code", "action", "replacement_code", "evidence", "reason",
    "user", "verified", "created_at", "suggestion_status", "suggestion_step", "suggestion_source",
]  # fmt: skip
SUBMISSION_CODE_COLUMNS = [
    "submission_id", "run_id", "note_id", "language", "user", "verified", "created_at", "position", "code", "description",
    "origin", "replaces", "evidence",
]  # fmt: skip
