"""Evaluation run folders: start new ones, list and load past ones, compare two runs, look inside one case.

A run folder is what :func:`core.evaluate.run_evaluation` writes (``settings.json``, ``predictions.jsonl``,
``metrics.json``, submission files). Runs started from the app live under ``settings.state_dir / "runs"``, one
timestamped folder each; any folder written by ``python -m core evaluate --out`` can be opened the same way.

Also here, so that pages stay thin: the long-format DataFrames the evaluation charts are drawn from, and
:func:`plan_evaluation`, which wires a split, its training splits and ``code_note`` the way the CLI does.
No Streamlit in this module.
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

from core.codiesp import GOLD_IN_CURRENT_EDITION, TASK_KIND, TEXT_DIRS, Case
from core.evaluate import METRICS_FILE, PREDICTIONS_FILE, SETTINGS_FILE, load_predictions
from core.metrics import CHAPTER_TITLES, norm, value_at

if TYPE_CHECKING:
    from core.knowledge import KnowledgeBase
    from core.schema import CodingResult
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


# --------------------------------------------------------------------------- comparing


def compare_runs(a: LoadedRun, b: LoadedRun, labels: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Headline metrics (then per-step recall) of two runs side by side: ``metric, <A>, <B>, delta`` (B - A).

    A metric only one run has keeps its value and gets no delta.
    """
    label_a, label_b = labels
    if label_a == label_b:
        label_a, label_b = f"{label_a} (1)", f"{label_b} (2)"
    values_a, values_b = headline_metrics(a.metrics), headline_metrics(b.metrics)
    steps_a, steps_b = a.metrics.get("step_recall") or {}, b.metrics.get("step_recall") or {}
    for step in dict.fromkeys([*steps_a, *steps_b]):
        values_a[f"step recall: {step}"] = steps_a.get(step)
        values_b[f"step recall: {step}"] = steps_b.get(step)
    rows = []
    for metric in values_a:
        va, vb = values_a[metric], values_b[metric]
        if va is None and vb is None:
            continue
        delta = vb - va if va is not None and vb is not None else None
        rows.append({"metric": metric, label_a: va, label_b: vb, "delta": delta})
    return pd.DataFrame(rows, columns=["metric", label_a, label_b, "delta"])


# --------------------------------------------------------------------------- one case


@dataclass(frozen=True)
class EvidenceSpan:
    start: int
    end: int
    text: str


@dataclass
class CaseCodeRow:
    code: str  # lower-case, CodiEsp spelling
    outcome: str  # TRUE_POSITIVE | FALSE_POSITIVE | MISS
    rank: int | None  # 1-based position in the run's ranked list (codes then candidates); None if absent
    candidate: bool  # the run listed it as a candidate (not a confident code)
    gold_spans: list[EvidenceSpan] = field(default_factory=list)  # fragments of the gold X rows (Spanish text)
    predicted_spans: list[EvidenceSpan] = field(default_factory=list)


def case_view(run: LoadedRun, case: Case, task: str | None = None) -> list[CaseCodeRow]:
    """Gold vs predicted codes of one case: true positives, false positives, then misses.

    Predicted = the run's confident codes (what P/R/F1 score). A miss that the run listed as a candidate has
    ``candidate=True``. Gold spans are the fragments of the case's gold X rows for the task's kind; their offsets
    refer to the Spanish text.
    """
    task = task or run.task
    record = run.predictions.get(case.case_id, {})
    gold = list(dict.fromkeys(norm(c) for c in case.gold(task)))
    predicted = list(dict.fromkeys(norm(c) for c in record.get("codes", [])))
    candidates = {norm(c) for c in record.get("candidates", [])}
    ranks: dict[str, int] = {}
    for position, code in enumerate(record.get("ranked", []), start=1):
        ranks.setdefault(norm(code), position)
    kind = TASK_KIND[task]
    gold_spans: dict[str, list[EvidenceSpan]] = {}
    for row in case.gold_x:
        if row.kind != kind:
            continue
        fragments = gold_spans.setdefault(norm(row.code), [])
        for start, end in row.spans:
            text = case.text[start:end] if case.language == "es" and 0 <= start < end <= len(case.text) else row.text
            fragments.append(EvidenceSpan(start, end, text))
    predicted_spans: dict[str, list[EvidenceSpan]] = {}
    for span in record.get("spans", []):
        predicted_spans.setdefault(norm(span["code"]), []).append(
            EvidenceSpan(int(span["start"]), int(span["end"]), str(span.get("text", "")))
        )

    def row(code: str, outcome: str) -> CaseCodeRow:
        return CaseCodeRow(code, outcome, ranks.get(code), code in candidates and code not in predicted,
                           gold_spans.get(code, []), predicted_spans.get(code, []))

    gold_set, predicted_set = set(gold), set(predicted)
    rows = [row(c, TRUE_POSITIVE) for c in predicted if c in gold_set]
    rows += [row(c, FALSE_POSITIVE) for c in predicted if c not in gold_set]
    rows += [row(c, MISS) for c in gold if c not in predicted_set]
    return rows


def case_view_frame(rows: list[CaseCodeRow], describe: Any = None) -> pd.DataFrame:
    """The rows of :func:`case_view` as a table; ``describe(code) -> str`` adds a description column."""
    def spans(items: list[EvidenceSpan]) -> str:
        return "; ".join(f"{s.start}-{s.end} {s.text!r}" for s in items)

    data = [
        {
            "code": r.code,
            "outcome": r.outcome + (" (candidate)" if r.candidate else ""),
            "description": describe(r.code) if describe else "",
            "rank": r.rank,
            "gold evidence": spans(r.gold_spans),
            "predicted evidence": spans(r.predicted_spans),
        }
        for r in rows
    ]
    frame = pd.DataFrame(data, columns=["code", "outcome", "description", "rank", "gold evidence", "predicted evidence"])
    frame["rank"] = frame["rank"].astype("Int64")  # blank, not None, for codes the run never ranked
    return frame if describe else frame.drop(columns=["description"])


@dataclass(frozen=True)
class EvidenceMark:
    start: int
    end: int
    outcome: str
    code: str
    side: str  # "gold" | "predicted"


def evidence_marks(rows: list[CaseCodeRow], text_length: int, *, gold_offsets_valid: bool = True) -> list[EvidenceMark]:
    """Character ranges to highlight in the note: predicted evidence of TP / FP codes and gold evidence of TP /
    missed codes, clipped to the text. ``gold_offsets_valid=False`` (English text: gold offsets refer to the
    Spanish original) leaves gold evidence out."""
    marks: list[EvidenceMark] = []
    for row in rows:
        sides = [("predicted", row.predicted_spans)]
        if gold_offsets_valid:
            sides.append(("gold", row.gold_spans))
        for side, spans in sides:
            for span in spans:
                start, end = max(0, span.start), min(text_length, span.end)
                if start < end:
                    marks.append(EvidenceMark(start, end, row.outcome, row.code, side))
    return sorted(marks, key=lambda m: (m.start, m.end, m.code))


# --------------------------------------------------------------------------- chart data (long format for Altair)


def prf_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``average, level, measure, value``: micro and macro P/R/F1 at full-code and category level."""
    rows = []
    for average, level, key in (("micro", "full code", "micro"), ("micro", "category", "micro_category"),
                                ("macro", "full code", "macro"), ("macro", "category", "macro_category")):
        block = metrics.get(key) or {}
        for measure, name in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            if measure in block:
                rows.append({"average": average, "level": level, "measure": name, "value": float(block[measure])})
    return pd.DataFrame(rows, columns=["average", "level", "measure", "value"])


def step_recall_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``order, step, recall``: share of gold codes still present after each step, in pipeline order."""
    steps = metrics.get("step_recall") or {}
    rows = [{"order": i, "step": step, "recall": float(value)} for i, (step, value) in enumerate(steps.items())]
    return pd.DataFrame(rows, columns=["order", "step", "recall"])


def chapter_recall_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``chapter, title, gold, tp, recall`` in chapter order."""
    rows = [
        {"chapter": chapter, "title": CHAPTER_TITLES.get(chapter, "unknown chapter"), "gold": int(row.get("gold", 0)),
         "tp": int(row.get("tp", 0)), "recall": float(row.get("recall", 0.0))}
        for chapter, row in (metrics.get("recall_by_chapter") or {}).items()
    ]
    return pd.DataFrame(rows, columns=["chapter", "title", "gold", "tp", "recall"])


def seen_unseen_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``group, measure, value, n_gold, n_pred``: P/R/F1 of codes seen / unseen in the training splits."""
    rows = []
    for group, block in (metrics.get("seen_unseen") or {}).items():
        for measure, name in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            rows.append({"group": group, "measure": name, "value": float(block.get(measure, 0.0)),
                         "n_gold": int(block.get("n_gold", 0)), "n_pred": int(block.get("n_pred", 0))})
    return pd.DataFrame(rows, columns=["group", "measure", "value", "n_gold", "n_pred"])


def step_latency_frame(run: LoadedRun) -> pd.DataFrame:
    """``case_id, step, ms``: every case's duration per step, plus its end-to-end latency as step ``total``."""
    rows = []
    for case_id, record in run.predictions.items():
        for step, value in (record.get("step_ms") or {}).items():
            rows.append({"case_id": case_id, "step": step, "ms": float(value)})
        if record.get("latency_ms") is not None:
            rows.append({"case_id": case_id, "step": "total", "ms": float(record["latency_ms"])})
    return pd.DataFrame(rows, columns=["case_id", "step", "ms"])


def latency_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """``step, n, p50, p95, mean, max`` (ms) per step, then end to end, and in how many cases each step fell back
    (its LLM answer was not used; absent from runs made before this was recorded)."""
    blocks = dict(metrics.get("step_latency_ms") or {})
    if metrics.get("latency_ms"):
        blocks["total"] = metrics["latency_ms"]
    fallbacks = metrics.get("fallback_cases")
    rows = [{"step": step, **{k: block.get(k) for k in ("n", "p50", "p95", "mean", "max")},
             "fell back": None if fallbacks is None or step == "total" else int(fallbacks.get(step, 0))}
            for step, block in blocks.items()]
    return pd.DataFrame(rows, columns=["step", "n", "p50", "p95", "mean", "max", "fell back"])


# --------------------------------------------------------------------------- starting a run


def codiesp_root(settings: Settings) -> Path | None:
    """``data_dir / codiesp_dir`` when it is a directory."""
    root = settings.resolve(settings.codiesp_dir)
    return root if root is not None and root.is_dir() else None


def available_splits(root: Path | None) -> dict[str, list[str]]:
    """{split: [languages with text]} for every split folder under a CodiEsp root (labelled or not)."""
    if root is None or not Path(root).is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for folder in sorted(Path(root).iterdir()):
        languages = [lang for lang, name in TEXT_DIRS.items() if (folder / name).is_dir()]
        if folder.is_dir() and languages:
            out[folder.name] = languages
    return out


def labelled_splits(root: Path | None) -> tuple[str, ...]:
    if root is None or not Path(root).is_dir():
        return ()
    return tuple(sorted(p.name for p in Path(root).iterdir() if (p / f"{p.name}D.tsv").is_file()))


@dataclass
class EvaluationPlan:
    """Everything :func:`core.evaluate.run_evaluation` needs for one split, wired like ``python -m core evaluate``."""

    settings: Settings
    split: str
    cases: list[Case]
    train_splits: tuple[str, ...]
    train_codes: set[str]
    settings_dict: dict[str, Any]
    kb: KnowledgeBase | None = None

    def _code(self, text: str) -> CodingResult:
        from core.knowledge import get_knowledge
        from core.pipeline.runner import code_note

        if self.kb is None:
            self.kb = get_knowledge(self.settings)
        return code_note(text, self.settings, kb=self.kb, splits=self.train_splits)

    def code_case(self, case: Case) -> CodingResult:
        return self._code(case.text)

    def warm_up(self) -> None:
        """Code a one-line note so loading is not counted as the first case's latency (see run_evaluation)."""
        from core.evaluate import WARM_UP_NOTES

        self._code(WARM_UP_NOTES[self.settings.language])


def plan_evaluation(
    settings: Settings, split: str, limit: int | None = None, gold_codes: str | None = GOLD_IN_CURRENT_EDITION
) -> EvaluationPlan:
    """Load ``split`` in ``settings.language`` (first ``limit`` cases), gold codes in the tabular list's edition
    (as written with ``gold_codes=None``: resuming a run scored that way); the dictionary learns from the other
    labelled splits only, and their gold codes are the "seen" codes. Raises FileNotFoundError without data."""
    from core.codiesp import gold_code_set
    from core.knowledge import get_knowledge

    root = codiesp_root(settings)
    if root is None:
        raise FileNotFoundError(f"CodiEsp data not found at {settings.resolve(settings.codiesp_dir)}")
    kb = get_knowledge(settings)
    cases = kb.load_cases(root, split, settings.language, gold_codes)
    if limit:
        cases = cases[:limit]
    train_splits = tuple(s for s in labelled_splits(root) if s != split)
    train_codes: set[str] = set()
    for train_split in train_splits:
        try:
            train_codes |= gold_code_set(kb.load_cases(root, train_split, settings.language, gold_codes))
        except FileNotFoundError:
            pass
    settings_dict = settings.public_dict() | {
        "split": split,
        "train_splits": list(train_splits),
        "limit": limit,
        "task": "D",
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    if gold_codes:
        settings_dict["gold_codes"] = gold_codes
    return EvaluationPlan(settings, split, cases, train_splits, train_codes, settings_dict, kb)


def run_cases(run: LoadedRun, settings: Settings) -> dict[str, Case]:
    """The cases of a run's split with their gold, by id: read from the data dir the run used, else from the
    current settings' CodiEsp root. Empty when neither has the split."""
    roots: list[Path] = []
    data_dir, codiesp_dir = run.settings.get("data_dir"), run.settings.get("codiesp_dir")
    if data_dir and codiesp_dir:
        path = Path(str(codiesp_dir))
        roots.append(path if path.is_absolute() else Path(str(data_dir)) / path)
    current = codiesp_root(settings)
    if current is not None:
        roots.append(current)
    language = run.language if run.language in TEXT_DIRS else "es"
    from core.knowledge import get_knowledge

    kb = get_knowledge(settings)
    for root in roots:
        try:  # the gold read as the run was scored: moved to the current edition, or as written (older runs)
            cases = kb.load_cases(root, run.split, language, run.settings.get("gold_codes"))
        except (FileNotFoundError, ValueError, OSError):
            continue
        by_id = {c.case_id: c for c in cases}
        if not run.predictions or any(case_id in by_id for case_id in run.predictions):
            return by_id
    return {}
