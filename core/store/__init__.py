"""The decision store: notes, coding runs, coder decisions, submissions and learned terms (append-only).

``models`` holds the tables, ``engine`` the database connection per URL, ``export`` rows as dicts and CSV,
``repository`` the :class:`DecisionStore` API the app, the CLI and the trainer use, ``review`` the review state of
a chart's codes, ``accounts`` the users and the append-only access log (``DecisionStore.accounts``),
``worklist`` the worklist's table (its queue logic is :mod:`core.worklist`).
"""

from core.store.engine import StoreUnavailable, store_exists, store_location
from core.store.models import Decision, LearnedTerm, Submission
from core.store.repository import ACTIONS, DecisionStore
from core.store.values import normalise_term, note_sha256

__all__ = [
    "ACTIONS",
    "Decision",
    "DecisionStore",
    "LearnedTerm",
    "StoreUnavailable",
    "Submission",
    "normalise_term",
    "note_sha256",
    "store_exists",
    "store_location",
]
