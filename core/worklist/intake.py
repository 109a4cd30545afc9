"""Importing charts into the worklist: a folder of ``.txt`` notes, a ``.jsonl`` or ``.csv`` file with ``id`` and
``text`` (and an optional ``lang``), or a CodiEsp-style split folder (``text_files/``, ``text_files_en/``).

Every note is read, decoded, composed (NFC, as the app stores notes) and checked before anything is queued; a
note that cannot be used is reported with its reason and the others are still queued. The same text (by hash)
is never queued twice, so importing a folder again queues only what is new.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.datasets.codiesp import TEXT_DIRS
from core.datasets.note_io import decode_note_bytes
from core.settings import LANGUAGES
from core.strategies.runner import MAX_NOTE_CHARS, compose_accents, validate_note_text
from core.worklist.queue import NewChart, WorklistQueue

MAX_NOTE_BYTES = 1_000_000  # a .txt note larger than this is refused unread (the text limit is MAX_NOTE_CHARS)
MAX_TABLE_BYTES = 2_000_000_000  # a .jsonl / .csv file


@dataclass
class ImportReport:
    queued: list[str] = field(default_factory=list)  # ids of the charts queued now
    duplicates: list[str] = field(default_factory=list)  # ids whose text was already queued
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file or row, reason): not queued
    notices: list[tuple[str, str]] = field(default_factory=list)  # (file or row, notice): queued, worth a look
    ignored: list[str] = field(default_factory=list)  # files in a folder that are not .txt

    def as_dict(self) -> dict:
        return {
            "queued": len(self.queued),
            "duplicates": len(self.duplicates),
            "problems": [{"item": item, "reason": reason} for item, reason in self.problems],
            "notices": [{"item": item, "notice": notice} for item, notice in self.notices],
            "ignored": self.ignored,
        }


@dataclass(frozen=True)
class _Candidate:
    external_id: str
    source: str
    language: str
    text: str


def _checked(text: str) -> str:
    text = compose_accents(text)
    validate_note_text(text)  # empty, binary (NUL) or over the size limit: ValueError with the reason
    return text


def _read_txt(path: Path, report: ImportReport) -> str | None:
    """The note in ``path`` decoded, or None with the reason in the report."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTE_BYTES:
            report.problems.append((str(path), f"{size:,} bytes, over the {MAX_NOTE_BYTES:,}-byte limit for one note: "
                                               "split it into separate notes"))
            return None
        data = path.read_bytes()
    except OSError as exc:
        report.problems.append((str(path), f"cannot be read ({exc.strerror or exc})"))
        return None
    try:
        decoded = decode_note_bytes(data, path.name)
        text = _checked(decoded.text)
    except ValueError as exc:
        report.problems.append((str(path), str(exc)))
        return None
    if decoded.notice:
        report.notices.append((str(path), decoded.notice))
    return text


def _from_folder(folder: Path, language: str, source: str, report: ImportReport) -> Iterator[_Candidate]:
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if path.suffix.lower() != ".txt":
            report.ignored.append(str(path))
            continue
        text = _read_txt(path, report)
        if text is not None:
            yield _Candidate(path.stem, f"{source}/{path.stem}", language, text)


def _codiesp_split(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in TEXT_DIRS.values())


def _rows(path: Path, report: ImportReport) -> Iterator[tuple[str, dict]]:
    """(where, row) for each record of a .jsonl or .csv file; unreadable records go to the report."""
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            report.problems.append((str(path), f"{size:,} bytes, over the {MAX_TABLE_BYTES:,}-byte limit"))
            return
        decoded = decode_note_bytes(path.read_bytes(), path.name)
    except OSError as exc:
        report.problems.append((str(path), f"cannot be read ({exc.strerror or exc})"))
        return
    except ValueError as exc:
        report.problems.append((str(path), str(exc)))
        return
    if decoded.notice:
        report.notices.append((str(path), decoded.notice))
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(decoded.text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                report.problems.append((f"{path}:{number}", f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(row, dict):
                report.problems.append((f"{path}:{number}", "not a JSON object with id and text"))
                continue
            yield f"{path}:{number}", row
        return
    csv.field_size_limit(MAX_NOTE_CHARS * 4)
    reader = csv.DictReader(io.StringIO(decoded.text, newline=""))
    if not reader.fieldnames or not {"id", "text"} <= {name.strip().lower() for name in reader.fieldnames}:
        report.problems.append((str(path), f"the header must name the columns id and text (found "
                                           f"{', '.join(reader.fieldnames or []) or 'no header'})"))
        return
    try:
        for row in reader:
            yield f"{path}:{reader.line_num}", {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    except csv.Error as exc:
        report.problems.append((f"{path}:{reader.line_num}", f"the CSV cannot be parsed from here on ({exc})"))


def _from_table(path: Path, language: str, report: ImportReport) -> Iterator[_Candidate]:
    seen_ids: set[str] = set()
    for where, row in _rows(path, report):
        external_id = str(row.get("id") or "").strip()
        text = row.get("text")
        lang = str(row.get("lang") or "").strip().lower() or language
        if not external_id:
            report.problems.append((where, "no id"))
            continue
        label = f"{where} (id {external_id})"
        if not isinstance(text, str):
            report.problems.append((label, "no text" if text is None else "text is not a string"))
            continue
        if lang not in LANGUAGES:
            report.problems.append((label, f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}"))
            continue
        if external_id in seen_ids:
            report.notices.append((label, "the id appears more than once in the file; each text is queued once"))
        seen_ids.add(external_id)
        try:
            yield _Candidate(external_id, f"{path.name}#{external_id}", lang, _checked(text))
        except ValueError as exc:
            report.problems.append((label, str(exc)))


def read_charts(path: Path, language: str) -> tuple[list[_Candidate], ImportReport]:
    """Every usable note under ``path`` and the report of what was not usable. Raises ``ValueError`` when ``path``
    is none of the accepted kinds."""
    report = ImportReport()
    path = Path(path).expanduser()
    if path.is_dir():
        if _codiesp_split(path):
            folder = path / TEXT_DIRS[language]
            if not folder.is_dir():
                raise ValueError(f"{path} is a CodiEsp-style split without {TEXT_DIRS[language]}/ (the "
                                 f"{language.upper()} texts): choose the language with --lang")
            found = list(_from_folder(folder, language, f"codiesp:{path.name}", report))
        else:
            found = list(_from_folder(path, language, f"folder:{path.name}", report))
            if not found and not report.problems:
                raise ValueError(f"{path} holds no .txt note")
    elif path.is_file() and path.suffix.lower() in (".jsonl", ".csv"):
        found = list(_from_table(path, language, report))
    elif path.is_file() and path.suffix.lower() == ".txt":
        text = _read_txt(path, report)
        found = [] if text is None else [_Candidate(path.stem, f"file:{path.name}", language, text)]
    elif not path.exists():
        raise ValueError(f"{path} does not exist")
    else:
        raise ValueError(f"{path} is not a folder of .txt notes, a .jsonl or .csv file, or a CodiEsp-style split")
    return found, report


def import_charts(
    queue: WorklistQueue, path: Path, *, language: str, priority: int = 0, assignee: str | None = None
) -> ImportReport:
    """Queue every usable note under ``path`` (see the module docstring); the report says what was queued, what
    was already there and what could not be used, and why."""
    found, report = read_charts(path, language)
    ids = queue.enqueue_many([
        NewChart(text=c.text, source=c.source, language=c.language, external_id=c.external_id, priority=priority,
                 assignee=assignee)
        for c in found
    ])
    for candidate, item_id in zip(found, ids, strict=True):
        (report.queued if item_id is not None else report.duplicates).append(candidate.external_id)
    return report
