"""Evaluation run folders: start new ones, list and load past ones, compare two runs, look inside one case.

A run folder is what :func:`core.evaluation.evaluate.run_evaluation` writes (``settings.json``, ``predictions.jsonl``,
``metrics.json``, submission files). Runs started from the app live under ``settings.state_dir / "runs"``, one
timestamped folder each; any folder written by ``python -m core evaluate --out`` can be opened the same way.

The Evaluation page's tables and chart data are built in :mod:`core.evaluation.views`; starting a run (splits,
settings, the cases it scores) is :mod:`core.evaluation.plan`. No Streamlit in these modules.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.evaluation.evaluate import METRICS_FILE, PREDICTIONS_FILE, SETTINGS_FILE, load_predictions
from core.evaluation.metrics import value_at

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

RUNS_DIRNAME = "runs"
STAMP_FORMAT = "%Y%m%d-%H%M%S"

TRUE_POSITIVE = "true positive"
FALSE_POSITIVE = "false positive"
MISS = "miss"
OUTCOMES = (TRUE_POSITIVE, FALSE_POSITIVE, MISS)

# (label, path into metrics.json); every value is a number or absent.
HEADLINE_METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("micro precision", ("micro", "precision")),
    ("micro recall", ("micro", "recall")),
    ("micro F1", ("micro", "f1")),
    ("category precision", ("micro_category", "precision")),
    ("category recall", ("micro_category", "recall")),
    ("category F1", ("micro_category", "f1")),
    ("macro F1", ("macro", "f1")),
    ("macro category F1", ("macro_category", "f1")),
    ("MAP", ("map",)),
    ("MAP category", ("map_category",)),
    # Against the codes as CodiEsp writes them (2018 edition, no 7th character), what its own scorer compares.
    ("micro F1, gold as written", ("as_written", "micro", "f1")),
    ("category F1, gold as written", ("as_written", "micro_category", "f1")),
    ("MAP, gold as written", ("as_written", "map")),
    ("exact match ratio", ("emr",)),
    ("span precision", ("span", "precision")),
    ("span recall", ("span", "recall")),
    ("span F1", ("span", "f1")),
    ("seen recall", ("seen_unseen", "seen", "recall")),
    ("unseen recall", ("seen_unseen", "unseen", "recall")),
    ("latency p50 ms", ("latency_ms", "p50")),
    ("latency p95 ms", ("latency_ms", "p95")),
    ("cases", ("n_cases",)),
    ("errors", ("n_errors",)),
)
# The columns of the run list; "gold as written" compares runs scored before and after gold moved to the current
# edition (an older run's own F1 stands there).
SUMMARY_METRICS = ("micro F1", "category F1", "MAP", "span F1", "micro F1, gold as written")


# --------------------------------------------------------------------------- folders


def default_runs_root(settings: Settings) -> Path:
    """Where the app keeps its evaluation runs: ``state_dir / "runs"``."""
    return Path(settings.state_dir) / RUNS_DIRNAME


def _slug(value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9_.]+", "-", str(value or "")).strip("-.")
    return text[:40] or "x"


def _setting(settings: Settings | Mapping[str, Any], name: str, default: Any = "") -> Any:
    if isinstance(settings, Mapping):
        return settings.get(name, default)
    return getattr(settings, name, default)


def new_run_folder(
    root: Path, settings: Settings | Mapping[str, Any], split: str | None = None, *, now: datetime | None = None
) -> Path:
    """Create and return an empty, uniquely named run folder ``<root>/<YYYYmmdd-HHMMSS>-<split>-<lang>-<strategy>-<backend>``.

    ``split`` defaults to ``settings["split"]`` for a settings mapping. A second run in the same second gets a
    ``-2``, ``-3`` ... suffix.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime(STAMP_FORMAT)
    split = split if split is not None else _setting(settings, "split", "")
    parts = [stamp, split, _setting(settings, "language"), _setting(settings, "strategy"), _setting(settings, "backend")]
    base = "-".join(_slug(p) for p in parts if p)
    for attempt in range(1, 1000):
        folder = root / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {root}")


def is_run_folder(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and ((path / SETTINGS_FILE).is_file() or (path / PREDICTIONS_FILE).is_file())


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _created(folder: Path, settings: Mapping[str, Any]) -> datetime:
    """When the run started: ``created_at`` in its settings, else the folder-name stamp, else the folder's mtime."""
    value = settings.get("created_at")
    if isinstance(value, str):
        try:
            created = datetime.fromisoformat(value)
            return created if created.tzinfo else created.astimezone()
        except ValueError:
            pass
    match = re.match(r"(\d{8}-\d{6})", folder.name)
    if match:
        try:
            return datetime.strptime(match.group(1), STAMP_FORMAT).astimezone()
        except ValueError:
            pass
    return datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC).astimezone()


def headline_metrics(metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """Every :data:`HEADLINE_METRICS` value of a metrics dict (``None`` where the run has none, e.g. no spans)."""
    out: dict[str, float | None] = {}
    for label, path in HEADLINE_METRICS:
        value = value_at(metrics, path)
        if value is None and path[0] == "as_written" and "as_written" not in metrics:
            value = value_at(metrics, path[1:])  # gold scored as written (older runs) or unchanged by the edition
        out[label] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return out


# --------------------------------------------------------------------------- listing and loading


@dataclass
class RunSummary:
    folder: Path
    created: datetime
    strategy: str
    backend: str
    language: str
    split: str
    n_cases: int  # cases finished
    n_total: int | None  # cases asked for (None when the run never wrote its metrics)
    partial: bool  # interrupted, or metrics not written yet
    has_metrics: bool
    headline: dict[str, float | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.folder.name

    def label(self) -> str:
        """One line for a picker: when, what, how many cases, micro F1."""
        f1 = self.headline.get("micro F1")
        score = f"F1 {f1:.3f}" if f1 is not None else "no metrics"
        state = " (partial)" if self.partial else ""
        return (f"{self.created:%Y-%m-%d %H:%M:%S} · {self.split or '?'} {self.language} · {self.strategy}/{self.backend}"
                f" · {self.n_cases} cases{state} · {score}")


@dataclass
class LoadedRun:
    folder: Path
    settings: dict[str, Any]
    metrics: dict[str, Any]
    predictions: dict[str, dict[str, Any]]  # case id -> record, in the order they finished
    summary: RunSummary

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def task(self) -> str:
        return str(self.metrics.get("task") or self.settings.get("task") or "D")

    @property
    def language(self) -> str:
        return self.summary.language

    @property
    def split(self) -> str:
        return self.summary.split


def _summary(folder: Path, settings: Mapping[str, Any], metrics: Mapping[str, Any], n_records: int) -> RunSummary:
    has_metrics = bool(metrics)
    n_total = metrics.get("n_total") if has_metrics else None
    return RunSummary(
        folder=folder,
        created=_created(folder, settings),
        strategy=str(settings.get("strategy", "")),
        backend=str(settings.get("backend", "")),
        language=str(settings.get("language", "")),
        split=str(settings.get("split", "")),
        n_cases=int(metrics.get("n_cases", n_records)) if has_metrics else n_records,
        n_total=int(n_total) if isinstance(n_total, int) else None,
        partial=bool(metrics.get("partial", False)) if has_metrics else True,
        has_metrics=has_metrics,
        headline=headline_metrics(metrics),
    )


def _count_records(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8", errors="replace") as handle:  # cheap: a line cut short by a kill lacks its "}"
        return sum(1 for line in handle if line.rstrip().endswith("}"))


def list_runs(root: Path) -> list[RunSummary]:
    """Every run folder directly under ``root``, newest first; an absent root gives an empty list."""
    root = Path(root)
    if not root.is_dir():
        return []
    summaries = []
    for folder in root.iterdir():
        if not is_run_folder(folder):
            continue
        settings = _read_json(folder / SETTINGS_FILE)
        metrics = _read_json(folder / METRICS_FILE)
        n_records = 0 if metrics else _count_records(folder / PREDICTIONS_FILE)
        summaries.append(_summary(folder, settings, metrics, n_records))
    summaries.sort(key=lambda s: (s.created, s.name), reverse=True)
    return summaries


def runs_frame(summaries: list[RunSummary]) -> pd.DataFrame:
    """The run list as a table."""
    rows = [
        {
            "run": s.name,
            "created": s.created.strftime("%Y-%m-%d %H:%M:%S"),
            "split": s.split,
            "language": s.language,
            "strategy": s.strategy,
            "backend": s.backend,
            "cases": s.n_cases,
            "partial": s.partial,
            **{label: s.headline.get(label) for label in SUMMARY_METRICS},
        }
        for s in summaries
    ]
    columns = ["run", "created", "split", "language", "strategy", "backend", "cases", "partial", *SUMMARY_METRICS]
    return pd.DataFrame(rows, columns=columns)


def load_run(folder: Path) -> LoadedRun:
    """Settings, metrics (empty when the run never wrote them) and per-case predictions of one run folder."""
    folder = Path(folder)
    if not is_run_folder(folder):
        raise FileNotFoundError(f"not an evaluation run folder (no {SETTINGS_FILE} or {PREDICTIONS_FILE}): {folder}")
    settings = _read_json(folder / SETTINGS_FILE)
    metrics = _read_json(folder / METRICS_FILE)
    predictions = load_predictions(folder / PREDICTIONS_FILE)
    return LoadedRun(folder, settings, metrics, predictions, _summary(folder, settings, metrics, len(predictions)))
