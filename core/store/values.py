"""Values the store accepts and normalises: a note's identity, coder names, evidence spans, learned terms, date filters."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.schema import Span

# --------------------------------------------------------------------------- helpers


def note_sha256(text: str) -> str:
    """The note's identity: sha256 of its exact UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_term(term: str) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced form used to match learned terms."""
    decomposed = unicodedata.normalize("NFKD", term.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^\w]+", " ", stripped)
    return " ".join(cleaned.split())


def _spans(evidence: Iterable[Span | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Evidence as a JSON-safe list of {start, end, text}; accepts Span models or dicts."""
    out: list[dict[str, Any]] = []
    for item in evidence or []:
        span = item if isinstance(item, Span) else Span.model_validate(dict(item))
        out.append({"start": span.start, "end": span.end, "text": span.text})
    return out


MAX_USER_CHARS = 255  # the column's length


def _require_user(user: str | None) -> str:
    if not isinstance(user, str) or not user.strip():
        raise ValueError("user is required: every decision and submission must name the coder who made it")
    user = " ".join(user.split())  # "Ana  Pérez " and "Ana Pérez" are one coder
    if len(user) > MAX_USER_CHARS:
        raise ValueError(f"the coder's name is {len(user)} characters long; at most {MAX_USER_CHARS} are kept")
    return user


def _as_utc(value: date | datetime | str, *, end: bool) -> datetime:
    """A date filter bound as an aware UTC datetime.

    A bare date (or 'YYYY-MM-DD') covers the whole UTC day: from its midnight, or up to the next midnight.
    """
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time.min, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date_clauses(
    column: Any, date_from: date | datetime | str | None, date_to: date | datetime | str | None
) -> list[Any]:
    """Inclusive bounds on a timestamp column; a bare ``date_to`` day counts up to its last instant."""
    clauses = []
    if date_from is not None:
        clauses.append(column >= _as_utc(date_from, end=False))
    if date_to is not None:
        whole_day = not isinstance(date_to, datetime) and not (isinstance(date_to, str) and len(date_to.strip()) > 10)
        bound = _as_utc(date_to, end=True)
        clauses.append(column < bound if whole_day else column <= bound)
    return clauses
