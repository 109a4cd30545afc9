"""The decision store: notes, pipeline runs, coder decisions, submissions and learned terms.

SQLAlchemy 2.x behind it, so any database URL works; the default is a SQLite file in WAL mode.
Every public write commits before returning, so a browser refresh or a crash loses nothing.
Decisions are append-only: there is no update or delete API, and the current state of a code is its
latest decision.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` (the write lock is taken up front and
waited for, up to the busy timeout), so two coders writing at the same moment queue up instead of
failing with "database is locked" half way through a transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, defer, sessionmaker

from core.schema import CodingResult, Span
from core.store.accounts import Accounts
from core.store.engine import StoreUnavailable, get_engine, store_location
from core.store.export import (
    DECISION_COLUMNS,
    SUBMISSION_CODE_COLUMNS,
    _check_fmt,
    _decision_dict,
    _iso,
    _mapping,
    _note_dict,
    _run_dict,
    _run_language,
    _submission_dict,
    _suggestion_dict,
    _term_dict,
    _to_csv,
)
from core.store.models import Decision, LearnedTerm, Note, Run, Submission, Suggestion, utcnow
from core.store.values import _date_clauses, _require_user, _spans, normalise_term, note_sha256

log = logging.getLogger(__name__)

ACTIONS = ("accept", "reject", "edit", "add")
ORIGINS = ("suggested", "edited", "added")
LEARNING_ACTIONS = ("accept", "add")


def add_run(session: Session, note_id: int, result: CodingResult, settings: dict[str, Any], user: str) -> int:
    """``DecisionStore.save_run`` inside the caller's transaction (the worklist stores a pre-coded run and marks its
    chart coded in one commit)."""
    trace = result.model_dump(mode="json")
    prompt_versions = {
        step.step: {"template": step.prompt_template, "version": step.prompt_version}
        for step in result.trace
        if step.prompt_template or step.prompt_version
    }
    if session.get(Note, note_id) is None:
        raise ValueError(f"note {note_id} does not exist: add the note before saving a run for it")
    run = Run(
        note_id=note_id,
        created_at=utcnow(),
        strategy=result.strategy,
        backend=result.backend,
        model=result.model,
        settings=json.loads(json.dumps(settings or {}, default=str)),
        prompt_versions=prompt_versions,
        resource_versions=trace["resources"],
        timings=trace["timings_ms"],
        trace=trace,
        user=user or "",
    )
    session.add(run)
    session.flush()
    for status, items in (("code", result.codes), ("candidate", result.candidates)):
        for rank, item in enumerate(items, start=1):
            session.add(
                Suggestion(
                    run_id=run.id,
                    code=item.code,
                    description=item.description,
                    status=status,
                    rank=rank,
                    score=float(item.score),
                    source=item.source,
                    step=item.step,
                    rationale=item.rationale,
                    evidence=_spans(item.evidence),
                )
            )
    return run.id


# --------------------------------------------------------------------------- the store


class DecisionStore:
    """Append-only store of notes, runs and coder decisions. Safe to share between threads and processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.accounts = Accounts(self._read, self._write)  # users and the access log

    # ---- sessions

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session that commits on success and rolls back (writing nothing) on any error."""
        try:
            with self._sessions() as session, session.begin():
                session.connection(execution_options={"coder_write": True})
                yield session
        except OperationalError as exc:  # e.g. another program held the write lock past the busy timeout
            raise StoreUnavailable(f"the decision store {store_location(self.url)} could not be written ({exc.orig}); "
                                   "nothing was recorded: try again") from exc

    @staticmethod
    def _run_or_error(session: Session, run_id: int) -> Run:
        run = session.get(Run, run_id)
        if run is None:
            raise ValueError(f"run {run_id} does not exist: save the run before recording decisions against it")
        return run

    # ---- notes

    def add_note(self, text: str, source: str, language: str) -> int:
        """Store a note once; the same text again returns the existing id (first source / language win)."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("note text is empty")
        digest = note_sha256(text)
        existing = self.note_id_for(digest)
        if existing is not None:
            return existing
        try:
            with self._write() as session:
                note = Note(sha256=digest, source=source, language=language, text=text, created_at=utcnow())
                session.add(note)
                session.flush()
                return note.id
        except IntegrityError:  # another writer stored the same text between our check and insert
            existing = self.note_id_for(digest)
            if existing is None:
                raise
            return existing

    def note_id_for(self, sha256: str) -> int | None:
        with self._read() as session:
            return session.scalar(select(Note.id).where(Note.sha256 == sha256))

    def get_note(self, note_id: int) -> dict[str, Any]:
        with self._read() as session:
            note = session.get(Note, note_id)
            if note is None:
                raise ValueError(f"note {note_id} does not exist")
            return _note_dict(note)

    def notes(self, source_prefix: str | None = None) -> list[dict[str, Any]]:
        """Note summaries (no text), oldest first."""
        with self._read() as session:
            query = select(Note).order_by(Note.id)
            if source_prefix:
                query = query.where(Note.source.startswith(source_prefix, autoescape=True))
            return [_note_dict(n, with_text=False) for n in session.scalars(query)]

    # ---- runs

    def save_run(self, note_id: int, result: CodingResult, settings: dict[str, Any], user: str) -> int:
        """Store a pipeline run with its full trace, and its codes / candidates as ranked suggestions."""
        with self._write() as session:
            return add_run(session, note_id, result, settings, user)

    def runs_for_note(self, note_id: int) -> list[dict[str, Any]]:
        """Run summaries for a note (no trace), newest first."""
        with self._read() as session:
            query = select(Run).options(defer(Run.trace)).where(Run.note_id == note_id).order_by(Run.id.desc())
            return [_run_dict(r, with_trace=False) for r in session.scalars(query)]

    def recent_runs(self, limit: int = 50, preview_chars: int = 80) -> list[dict[str, Any]]:
        """The newest runs with what a coder needs to pick one to reopen: when, how it was coded, the note's
        source and first words, how many decisions and chart submissions it has (no trace)."""
        decisions = (select(Decision.run_id, func.count().label("n")).group_by(Decision.run_id)).subquery()
        submissions = (
            select(Submission.run_id, func.count().label("n"), func.max(Submission.created_at).label("last"))
            .group_by(Submission.run_id)
        ).subquery()
        query = (
            select(Run.id, Run.note_id, Run.created_at, Run.strategy, Run.backend, Run.user, Run.settings,
                   Note.source, Note.language, func.substr(Note.text, 1, preview_chars),
                   decisions.c.n, submissions.c.n, submissions.c.last)
            .join(Note, Run.note_id == Note.id)
            .outerjoin(decisions, decisions.c.run_id == Run.id)
            .outerjoin(submissions, submissions.c.run_id == Run.id)
            .order_by(Run.id.desc())
            .limit(limit)
        )
        out = []
        with self._read() as session:
            for row in session.execute(query).all():
                settings = _mapping(row[6])
                out.append({
                    "id": row[0], "note_id": row[1], "created_at": _iso(row[2]), "strategy": row[3],
                    "backend": row[4], "user": row[5],
                    "language": str(settings.get("language") or row[8] or ""),
                    "note_source": row[7], "note_preview": " ".join(str(row[9] or "").split()),
                    "n_decisions": int(row[10] or 0), "n_submissions": int(row[11] or 0),
                    "last_submitted_at": _iso(row[12]) if row[12] else None,
                })
        return out

    def get_run(self, run_id: int) -> dict[str, Any]:
        """A run with its full trace (``CodingResult.model_dump``) and its suggestions, codes first."""
        with self._read() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise ValueError(f"run {run_id} does not exist")
            out = _run_dict(run, with_trace=True)
            out["suggestions"] = [_suggestion_dict(s) for s in self._suggestion_rows(session, run_id)]
            return out

    def get_result(self, run_id: int) -> CodingResult:
        """The stored run rebuilt as a CodingResult (e.g. to re-open a past run in the UI)."""
        return CodingResult.model_validate(self.get_run(run_id)["trace"])

    @staticmethod
    def _suggestion_rows(session: Session, run_id: int | None) -> list[Suggestion]:
        query = select(Suggestion)
        if run_id is not None:
            query = query.where(Suggestion.run_id == run_id)
        # "code" sorts before "candidate" descending; within a status, by rank.
        return list(session.scalars(query.order_by(Suggestion.run_id, Suggestion.status.desc(), Suggestion.rank)))

    def suggestions(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Suggestions of one run, or of all runs (for metrics)."""
        with self._read() as session:
            return [_suggestion_dict(s) for s in self._suggestion_rows(session, run_id)]

    # ---- decisions

    def record_decision(
        self,
        run_id: int,
        code: str,
        action: str,
        *,
        user: str,
        suggestion_id: int | None = None,
        replacement_code: str | None = None,
        evidence: Iterable[Span | Mapping[str, Any]] | None = None,
        reason: str = "",
        verified: bool = False,
    ) -> int:
        """Append one coder decision and return its id; nothing is written if any argument is invalid.

        ``code`` is the code decided on (for ``edit``, the suggested code; the new one is ``replacement_code``).
        Without ``suggestion_id`` the decision is linked to this run's suggestion of ``code`` when there is one.
        Accepting without evidence takes the suggestion's evidence. Accept / add decisions with evidence also
        write learned terms (one per distinct span text) in the note's language. ``verified``: ``user`` is the
        signed-in account (False: a name typed with sign-in off).
        """
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        user = _require_user(user)
        code = (code or "").strip()
        if not code:
            raise ValueError("code is required")
        replacement_code = (replacement_code or "").strip() or None
        if action == "edit" and replacement_code is None:
            raise ValueError("an 'edit' decision needs replacement_code (the code the coder chose instead)")
        if action != "edit" and replacement_code is not None:
            raise ValueError(f"replacement_code only applies to 'edit' decisions, not {action!r}")
        spans = _spans(evidence)

        with self._write() as session:
            run = self._run_or_error(session, run_id)
            suggestion: Suggestion | None
            if suggestion_id is not None:
                suggestion = session.get(Suggestion, suggestion_id)
                if suggestion is None or suggestion.run_id != run_id:
                    raise ValueError(f"suggestion {suggestion_id} does not belong to run {run_id}")
            else:
                suggestion = session.scalars(
                    select(Suggestion)
                    .where(Suggestion.run_id == run_id, Suggestion.code == code)
                    .order_by(Suggestion.status.desc(), Suggestion.rank)
                    .limit(1)
                ).first()
            if action == "accept" and not spans and suggestion is not None:
                spans = list(suggestion.evidence or [])
            decision = Decision(
                run_id=run_id,
                note_id=run.note_id,
                suggestion_id=suggestion.id if suggestion is not None else None,
                code=code,
                action=action,
                replacement_code=replacement_code,
                evidence=spans,
                reason=reason or "",
                user=user,
                verified=bool(verified),
                created_at=utcnow(),
            )
            session.add(decision)
            session.flush()
            if action in LEARNING_ACTIONS and spans:
                language = _run_language(run, session.scalar(select(Note.language).where(Note.id == run.note_id)))
                seen: set[str] = set()
                for span in spans:
                    normalised = normalise_term(span["text"])
                    if not normalised or normalised in seen:
                        continue
                    seen.add(normalised)
                    session.add(
                        LearnedTerm(
                            language=language,
                            term=span["text"].strip(),
                            normalised=normalised,
                            code=code,
                            source="accepted" if action == "accept" else "added",
                            decision_id=decision.id,
                            user=user,
                            created_at=decision.created_at,
                        )
                    )
            return decision.id

    def current_state(self, run_id: int) -> dict[str, dict[str, Any]]:
        """Latest decision per decided code of a run (codes without a decision are absent)."""
        with self._read() as session:
            self._run_or_error(session, run_id)
            rows = session.execute(
                select(Decision, Suggestion)
                .outerjoin(Suggestion, Decision.suggestion_id == Suggestion.id)
                .where(Decision.run_id == run_id)
                .order_by(Decision.id)
            ).all()
            state: dict[str, dict[str, Any]] = {}
            for dec, sug in rows:  # ids grow with time, so the last one wins
                state[dec.code] = _decision_dict(dec, sug)
            return state

    def decisions(
        self,
        *,
        note_id: int | None = None,
        run_id: int | None = None,
        user: str | None = None,
        code: str | None = None,
        action: str | None = None,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """Decision rows for the audit page, oldest first.

        ``code`` matches the decided code or an edit's replacement code. Date bounds are inclusive; a bare
        date covers the whole UTC day.
        """
        query = select(Decision, Suggestion).outerjoin(Suggestion, Decision.suggestion_id == Suggestion.id)
        if note_id is not None:
            query = query.where(Decision.note_id == note_id)
        if run_id is not None:
            query = query.where(Decision.run_id == run_id)
        if user:
            query = query.where(Decision.user == user)
        if code:
            query = query.where(or_(Decision.code == code, Decision.replacement_code == code))
        if action:
            query = query.where(Decision.action == action)
        query = query.where(*_date_clauses(Decision.created_at, date_from, date_to))
        with self._read() as session:
            return [_decision_dict(d, s) for d, s in session.execute(query.order_by(Decision.id)).all()]

    # ---- submissions

    def submit(self, run_id: int, codes: list[dict[str, Any]], user: str, *, verified: bool = False) -> int:
        """Record the coder's final ordered code list for a run.

        Each item: ``code`` (required), ``description``, ``evidence`` (spans), ``origin`` in
        suggested / edited / added (default suggested), and for an edited code ``replaces`` (the suggested code).
        """
        user = _require_user(user)
        clean: list[dict[str, Any]] = []
        for position, item in enumerate(codes or []):
            code = str(item.get("code") or "").strip()
            if not code:
                raise ValueError(f"submitted code #{position + 1} has no code")
            origin = item.get("origin") or "suggested"
            if origin not in ORIGINS:
                raise ValueError(f"origin must be one of {ORIGINS}, got {origin!r} for {code}")
            clean.append(
                {
                    "code": code,
                    "description": str(item.get("description") or ""),
                    "evidence": _spans(item.get("evidence")),
                    "origin": origin,
                    **({"replaces": str(item["replaces"])} if item.get("replaces") else {}),
                }
            )
        with self._write() as session:
            run = self._run_or_error(session, run_id)
            submission = Submission(run_id=run_id, note_id=run.note_id, user=user, verified=bool(verified),
                                    created_at=utcnow(), codes=clean)
            session.add(submission)
            session.flush()
            return submission.id

    def submissions(
        self,
        *,
        note_id: int | None = None,
        run_id: int | None = None,
        user: str | None = None,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """Submission rows, oldest first (the latest per run is the coder's final answer)."""
        query = (
            select(Submission, Run, Note.language)
            .join(Run, Submission.run_id == Run.id)
            .join(Note, Submission.note_id == Note.id)
        )
        if note_id is not None:
            query = query.where(Submission.note_id == note_id)
        if run_id is not None:
            query = query.where(Submission.run_id == run_id)
        if user:
            query = query.where(Submission.user == user)
        query = query.where(*_date_clauses(Submission.created_at, date_from, date_to))
        with self._read() as session:
            return [_submission_dict(sub, _run_language(run, note_language))
                    for sub, run, note_language in session.execute(query.order_by(Submission.id)).all()]

    # ---- learned terms

    def learned_terms(self, language: str | None = None) -> list[dict[str, Any]]:
        """Terms coders confirmed (accepted evidence) or added, oldest first, for the dictionary linker.

        A term stands while the decision that taught it is the latest decision on its code for its note: a
        code rejected, removed or replaced afterwards (in any run of the note) no longer teaches its evidence.
        """
        latest = (
            select(Decision.note_id, Decision.code, func.max(Decision.id).label("latest_id"))
            .group_by(Decision.note_id, Decision.code)
            .subquery()
        )
        query = (
            select(LearnedTerm)
            .join(Decision, LearnedTerm.decision_id == Decision.id)
            .join(latest, (latest.c.note_id == Decision.note_id) & (latest.c.code == Decision.code))
            .where(latest.c.latest_id == Decision.id)
            .order_by(LearnedTerm.id)
        )
        if language:
            query = query.where(LearnedTerm.language == language)
        with self._read() as session:
            return [_term_dict(t) for t in session.scalars(query)]

    # ---- exports

    def export_decisions(self, fmt: str = "csv", **filters: Any) -> str:
        """All decisions (or those matching ``decisions()`` filters) as CSV or JSON text."""
        rows = self.decisions(**filters)
        if _check_fmt(fmt) == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2)
        return _to_csv(rows, DECISION_COLUMNS)

    def export_submissions(self, fmt: str = "csv", **filters: Any) -> str:
        """Submissions as JSON (codes nested) or CSV (one row per submitted code, with its position)."""
        rows = self.submissions(**filters)
        if _check_fmt(fmt) == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2)
        flat = [
            {
                "submission_id": sub["id"],
                "run_id": sub["run_id"],
                "note_id": sub["note_id"],
                "language": sub.get("language", ""),
                "user": sub["user"],
                "verified": sub["verified"],
                "created_at": sub["created_at"],
                "position": position,
                **item,
            }
            for sub in rows
            for position, item in enumerate(sub["codes"], start=1)
        ]
        return _to_csv(flat, SUBMISSION_CODE_COLUMNS)

    # ---- audit

    def code_audit(self, run_id: int, code: str) -> dict[str, Any]:
        """Everything behind one code in one run: evidence, rationale, model, prompts, resources, decisions."""
        run = self.get_run(run_id)
        trace = run["trace"] or {}
        suggestion = next((s for s in run["suggestions"] if s["code"] == code), None)
        steps = [
            {
                "step": step.get("step"),
                "prompt_template": step.get("prompt_template"),
                "prompt_version": step.get("prompt_version"),
                "rationale": step.get("rationale", ""),
                "fallback": step.get("fallback"),
            }
            for step in trace.get("trace", [])
            if code in (step.get("output_codes") or [])
        ]
        history = self.decisions(run_id=run_id, code=code)  # also the edits that put this code in
        state = self.current_state(run_id)
        current = state.get(code) or next(
            (row for row in state.values() if row["action"] == "edit" and row.get("replacement_code") == code), None
        )
        # A code only a coder proposed (added, or put in place of a suggested one): its evidence and reason are
        # those of the latest decision that did so.
        given = next((d for d in reversed(history) if (d["code"] == code and d["action"] == "add")
                      or (d["action"] == "edit" and d["replacement_code"] == code)), None)
        coder_evidence = given["evidence"] if given else []
        coder_rationale = ""
        if given:
            coder_rationale = (f"added by {given['user']}" if given["action"] == "add"
                               else f"put in place of {given['code']} by {given['user']}")
            coder_rationale += f": {given['reason']}" if given["reason"] else ""
        return {
            "run_id": run_id,
            "note_id": run["note_id"],
            "code": code,
            "suggested": suggestion is not None,
            "status": suggestion["status"] if suggestion else None,
            "rank": suggestion["rank"] if suggestion else None,
            "description": suggestion["description"] if suggestion else "",
            "evidence": suggestion["evidence"] if suggestion else coder_evidence,
            "rationale": suggestion["rationale"] if suggestion else coder_rationale,
            "source": suggestion["source"] if suggestion else "",
            "step": suggestion["step"] if suggestion else "",
            "score": suggestion["score"] if suggestion else None,
            "strategy": run["strategy"],
            "backend": run["backend"],
            "model": run["model"],
            "run_created_at": run["created_at"],
            "prompt_versions": run["prompt_versions"],
            "resource_versions": run["resource_versions"],
            "steps": steps,  # trace steps whose output included this code, with their prompt and rationale
            "decisions": [
                {
                    k: d[k]
                    for k in ("id", "action", "code", "replacement_code", "reason", "evidence", "user", "verified",
                              "created_at")
                }
                for d in history
            ],
            "current": current,
        }
