"""Conformance suites: short notes, each testing one coding convention, with the codes a coder reports.

A suite is a JSON-lines file, one note per line: ``{"id", "rule", "text", "gold"}`` (``rule`` is
``family/subrule``; ``gold`` the complete list of codes a coder reports, every one billable). Scoring is micro
precision / recall / F1 over (note, code) pairs, with the missed and extra codes of each note and the figures per rule
family. ``tests/conformance/{en,es}.jsonl`` is the team's own suite; any file in the format can be scored.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.kb.tabular import normalize_code

FIELDS = ("id", "rule", "text", "gold")


@dataclass(frozen=True)
class ConformanceNote:
    id: str
    rule: str
    text: str
    gold: tuple[str, ...]

    @property
    def family(self) -> str:
        return self.rule.split("/", 1)[0]


def load_suite(path: Path) -> list[ConformanceNote]:
    """The notes of a suite file; a line that is not a note with the four fields is an error naming the line."""
    notes: list[ConformanceNote] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            missing = [name for name in FIELDS if name not in row] if isinstance(row, dict) else list(FIELDS)
            if missing:
                raise ValueError(f"{path}:{number}: missing {', '.join(missing)}")
            if not isinstance(row["gold"], list) or not all(isinstance(c, str) for c in row["gold"]):
                raise ValueError(f"{path}:{number}: gold must be a list of codes")
            if str(row["id"]) in seen:
                raise ValueError(f"{path}:{number}: id {row['id']!r} is used twice")
            seen.add(str(row["id"]))
            gold = tuple(dict.fromkeys(normalize_code(c) for c in row["gold"]))
            notes.append(ConformanceNote(str(row["id"]), str(row["rule"]), str(row["text"]), gold))
    return notes


@dataclass
class NoteScore:
    id: str
    rule: str
    gold: list[str]
    predicted: list[str]
    missed: list[str]
    extra: list[str]
    ms: float
    error: str = ""


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, score: NoteScore) -> None:
        self.tp += len(score.gold) - len(score.missed)
        self.fp += len(score.extra)
        self.fn += len(score.missed)

    def figures(self) -> dict[str, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class ConformanceReport:
    micro: dict[str, float]
    families: dict[str, dict[str, float]]
    notes: list[NoteScore] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"micro": self.micro, "families": self.families, "latency_ms": self.latency_ms,
                "notes": [asdict(note) for note in self.notes]}


def score_suite(notes: Iterable[ConformanceNote], code: Callable[[str], list[str]]) -> ConformanceReport:
    """Code every note with ``code`` (text → final codes) and score it against its gold list."""
    scores: list[NoteScore] = []
    total = Counts()
    by_family: dict[str, Counts] = defaultdict(Counts)
    for note in notes:
        started = time.perf_counter()
        error = ""
        try:
            predicted = list(dict.fromkeys(normalize_code(c) for c in code(note.text)))
        except ValueError as exc:  # a note the app refuses (empty, too long): every gold code is missed
            predicted, error = [], str(exc)
        gold = set(note.gold)
        score = NoteScore(note.id, note.rule, list(note.gold), predicted,
                          missed=[c for c in note.gold if c not in predicted],
                          extra=[c for c in predicted if c not in gold],
                          ms=round((time.perf_counter() - started) * 1000, 2), error=error)
        scores.append(score)
        total.add(score)
        by_family[note.family].add(score)
    times = sorted(score.ms for score in scores)
    latency = {"n": len(times), "p50": times[len(times) // 2], "max": times[-1]} if times else {}
    return ConformanceReport(total.figures(), {family: counts.figures() for family, counts in sorted(by_family.items())},
                             scores, latency)
