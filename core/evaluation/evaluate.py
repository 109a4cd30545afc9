"""Run a coder over CodiEsp-style cases, store per-case predictions as they finish, and score them.

Files written under ``out_dir`` (when given):

- ``predictions.jsonl``: one JSON object per finished case, appended and flushed as soon as the case is done, so an
  interrupted run keeps its work and ``resume=True`` skips the case ids already there (errored cases are retried).
- ``settings.json``: the ``settings_dict`` the run used.
- ``metrics.json``: :attr:`EvaluationReport.metrics`.
- ``pred_D.tsv`` (``pred_P.tsv`` for ``task="P"``): ``case<TAB>code``, lower-case, ranked codes then candidates
  (the order MAP reads), the CodiEsp D/P submission format.
- ``pred_X.tsv``: ``case<TAB>start end<TAB>DIAGNOSTICO<TAB>code``, one row per evidence span of each confident code
  (candidates are left out: every distinct predicted (case, code) counts against X precision).

Metrics are computed over the finished cases only (an interrupted run reports ``partial: true``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.datasets.codiesp import TASK_KIND, Case, scorer_key
from core.evaluation import metrics as m
from core.evaluation.metrics import chapter_of
from core.schema import CodingResult

log = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"
SETTINGS_FILE = "settings.json"
RECORD_FIELDS = ("codes", "candidates", "ranked")  # what scoring reads from a prediction record
METRICS_FILE = "metrics.json"

__all__ = ["EvaluationReport", "chapter_of", "load_predictions", "prediction_record", "run_evaluation",
           "settings_changes"]


@dataclass
class EvaluationReport:
    metrics: dict[str, Any]
    n_cases: int  # cases scored (finished, resumed ones included)
    out_dir: Path | None
    n_total: int = 0  # cases asked for
    partial: bool = False  # interrupted before every case finished
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)  # per-case predictions, case order

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_cases": self.n_cases,
            "n_total": self.n_total,
            "partial": self.partial,
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "metrics": self.metrics,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------- per-case records


def prediction_record(case_id: str, result: CodingResult, latency_ms: float) -> dict[str, Any]:
    """The JSON-safe summary of one case's result stored in ``predictions.jsonl``.

    Per-step codes and durations are keyed by ``StepTrace.step``; when a step name repeats in a trace, the last
    output wins and the durations are summed.
    """
    steps: dict[str, list[str]] = {}
    step_ms: dict[str, float] = {}
    fallbacks: dict[str, str] = {}
    for trace in result.trace:
        steps[trace.step] = list(trace.output_codes)
        step_ms[trace.step] = step_ms.get(trace.step, 0.0) + float(trace.duration_ms)
        if trace.fallback:
            fallbacks[trace.step] = trace.fallback
    spans = [{"code": s.code, "start": e.start, "end": e.end, "text": e.text} for s in result.codes for e in s.evidence]
    return {
        "case_id": case_id,
        "ranked": result.ranked_codes(),
        "codes": [s.code for s in result.codes],
        "candidates": [s.code for s in result.candidates],
        "steps": steps,
        "spans": spans,
        "timings_ms": dict(result.timings_ms),
        "step_ms": step_ms,
        "fallbacks": fallbacks,  # step -> why its LLM answer was not used (the deterministic path ran instead)
        "latency_ms": latency_ms,
        "error": None,
    }


def _error_record(case_id: str, error: BaseException, latency_ms: float) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "ranked": [],
        "codes": [],
        "candidates": [],
        "steps": {},
        "spans": [],
        "timings_ms": {},
        "step_ms": {},
        "latency_ms": latency_ms,
        "error": f"{type(error).__name__}: {error}",
    }


def load_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """{case_id: record} from a ``predictions.jsonl``; the last record of a case wins; broken lines are skipped
    (e.g. a line cut short by a kill)."""
    records: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return records
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                case_id = str(record["case_id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("%s:%d: skipping unreadable prediction line", path, lineno)
                continue
            missing = [name for name in RECORD_FIELDS if name not in record]
            if missing and not record.get("error"):
                # Not a prediction the metrics can read: kept as an error, so a resume codes the case again.
                log.warning("%s:%d: prediction of %s lacks %s: treated as an error", path, lineno, case_id,
                            ", ".join(missing))
                record = _error_record(case_id, ValueError(f"incomplete record (no {', '.join(missing)})"), 0.0)
            records[case_id] = record
    return records


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------- the run


# Coded once before the first timed case: loads the knowledge base, the dictionary, the ranker and the model.
WARM_UP_NOTES = {"es": "Paciente con fiebre.", "en": "Patient with fever."}


def run_evaluation(
    cases: list[Case],
    code_fn: Callable[[Case], CodingResult],
    out_dir: Path | None,
    *,
    settings_dict: dict[str, Any],
    train_codes: set[str] | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    task: str = "D",
    valid_codes: set[str] | None = None,
    warm_up: Callable[[], None] | None = None,
) -> EvaluationReport:
    """Code every case with ``code_fn``, writing each result as it finishes, then score and write the summary files.

    ``task`` picks the gold scored ("D" diagnoses, "P" procedures). ``valid_codes`` (optional) is the official
    valid-code list applied to MAP and X as the CodiEsp scorer does. An exception in ``code_fn`` is logged and
    stored as an ``error`` record (scored as an empty prediction, retried on resume); Ctrl-C stops the loop and
    the finished cases are still scored and written (``partial=True``). ``warm_up`` (optional) runs once before
    the first timed case, so that loading the knowledge base and models is not counted as that case's latency;
    its time is reported as ``warm_up_ms``.
    """
    if task not in TASK_KIND:
        raise ValueError(f"task must be one of {tuple(TASK_KIND)}, got {task!r}")
    total = len(cases)
    wanted = {case.case_id for case in cases}
    pred_path: Path | None = None
    records: dict[str, dict[str, Any]] = {}

    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        pred_path = out_dir / PREDICTIONS_FILE
        if resume:
            previous = load_predictions(pred_path)
            _warn_if_settings_changed(out_dir / SETTINGS_FILE, settings_dict)
            _write_jsonl(pred_path, previous.values())  # drop broken lines so appends start on a clean line
            records = {k: v for k, v in previous.items() if k in wanted and not v.get("error")}
        else:
            pred_path.write_text("", encoding="utf-8")
        _write_json(out_dir / SETTINGS_FILE, settings_dict)

    done = len(records)
    partial = False
    if progress and done:
        progress(done, total)
    warm_up_ms: float | None = None
    if warm_up is not None and done < total:
        started = time.perf_counter()
        try:
            warm_up()
        except KeyboardInterrupt:
            partial = True
            log.warning("evaluation interrupted before its first case")
        except Exception:  # noqa: BLE001 - the first case meets the same problem and records it as its error
            log.exception("warming up before the first case failed")
        warm_up_ms = (time.perf_counter() - started) * 1000
    handle = pred_path.open("a", encoding="utf-8") if pred_path is not None else None
    try:
        for case in cases:
            if partial:
                break
            if case.case_id in records:
                continue
            started = time.perf_counter()
            try:
                result = code_fn(case)
                record = prediction_record(case.case_id, result, (time.perf_counter() - started) * 1000)
            except KeyboardInterrupt:
                partial = True
                log.warning("evaluation interrupted after %d of %d cases", done, total)
                break
            except Exception as exc:  # one bad case must not lose a long run
                log.exception("coding failed for case %s", case.case_id)
                record = _error_record(case.case_id, exc, (time.perf_counter() - started) * 1000)
            records[case.case_id] = record
            if handle is not None:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                handle.flush()
            done += 1
            if progress:
                progress(done, total)
    except KeyboardInterrupt:  # e.g. inside progress() or the write
        partial = True
        log.warning("evaluation interrupted after %d of %d cases", done, total)
    finally:
        if handle is not None:
            handle.close()

    ordered = [records[c.case_id] for c in cases if c.case_id in records]
    finished = [c for c in cases if c.case_id in records]
    metrics = compute_metrics(finished, records, task=task, train_codes=train_codes, valid_codes=valid_codes)
    metrics.update({"n_cases": len(finished), "n_total": total, "partial": partial or len(finished) < total})
    if warm_up_ms is not None:
        metrics["warm_up_ms"] = round(warm_up_ms, 1)

    if out_dir is not None:
        _write_json(out_dir / METRICS_FILE, metrics)
        _write_submission(out_dir, ordered, task)
    return EvaluationReport(
        metrics=metrics,
        n_cases=len(finished),
        out_dir=out_dir,
        n_total=total,
        partial=metrics["partial"],
        records=ordered,
    )


def settings_changes(path: Path, settings_dict: dict[str, Any]) -> dict[str, Any]:
    """{name: value recorded} for every setting a run folder's ``settings.json`` records differently from
    ``settings_dict`` (a setting only one side has counts); {} when the file is missing or unreadable."""
    if not path.is_file():
        return {}
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    now = json.loads(json.dumps(settings_dict, default=str))
    return {k: before.get(k) for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)}


def _warn_if_settings_changed(path: Path, settings_dict: dict[str, Any]) -> None:
    changed = settings_changes(path, settings_dict)
    if changed:
        log.warning("resuming with different settings (%s): earlier cases used the old ones", ", ".join(changed))


def _write_submission(out_dir: Path, records: list[dict[str, Any]], task: str) -> None:
    label = TASK_KIND[task]
    with (out_dir / f"pred_{task}.tsv").open("w", encoding="utf-8", newline="") as handle:
        for record in records:
            for code in dict.fromkeys(scorer_key(c) for c in record["ranked"]):
                handle.write(f"{record['case_id']}\t{code}\n")
    with (out_dir / "pred_X.tsv").open("w", encoding="utf-8", newline="") as handle:
        for record in records:
            for span in record["spans"]:
                handle.write(f"{record['case_id']}\t{span['start']} {span['end']}\t{label}\t{scorer_key(span['code'])}\n")


# --------------------------------------------------------------------------- scoring


def compute_metrics(
    cases: list[Case],
    records: dict[str, dict[str, Any]],
    *,
    task: str = "D",
    train_codes: set[str] | None = None,
    valid_codes: set[str] | None = None,
) -> dict[str, Any]:
    """Every metric for the given (finished) cases from their prediction records.

    Accuracy metrics need gold: on an unlabelled split (no gold code for ``task`` in any case) only counts and
    latencies are reported (``labeled: false``). Span metrics need Spanish text, since CodiEsp-X offsets refer to
    it; they are skipped (``span: null``) for English cases or when no gold X exists. Cases loaded with a
    ``code_map`` are scored on their mapped codes, and ``as_written`` holds full-code, category and MAP figures
    against the codes as the files write them.
    """
    gold = {c.case_id: set(c.gold(task)) for c in cases}
    pred = {c.case_id: set(records[c.case_id]["codes"]) for c in cases}
    ranked = {c.case_id: list(records[c.case_id]["ranked"]) for c in cases}
    labeled = any(gold.values())
    out: dict[str, Any] = {
        "task": task,
        "labeled": labeled,
        "n_errors": sum(1 for c in cases if records[c.case_id].get("error")),
    }
    if labeled:
        out["micro"] = m.prf(gold, pred)
        out["micro_category"] = m.prf(gold, pred, level="category")
        out["macro"] = m.macro_prf(gold, pred)
        out["macro_category"] = m.macro_prf(gold, pred, level="category")
        out["emr"] = m.exact_match_ratio(gold, pred)
        out["map"] = m.mean_average_precision(gold, ranked, valid_codes)
        out["map_category"] = m.mean_average_precision(gold, ranked, valid_codes, level="category")
        out["recall_by_chapter"] = m.recall_by_chapter(gold, pred, chapter_of)
        out["step_recall"] = m.step_recall(gold, _per_step_codes(cases, records))
        out["seen_unseen"] = m.seen_unseen(gold, pred, train_codes) if train_codes is not None else None
        out["span"] = _span_metrics(cases, records, task, valid_codes)
        written = {c.case_id: set(c.gold_d_as_written) for c in cases if c.gold_d_as_written is not None}
        if task == "D" and len(written) == len(cases) and written != gold:
            # The cases' codes were moved to the app's edition (Case.gold_d_as_written): the same predictions
            # against the codes as CodiEsp writes them, as its own scorer compares strings.
            out["as_written"] = {"micro": m.prf(written, pred), "micro_category": m.prf(written, pred, level="category"),
                                 "map": m.mean_average_precision(written, ranked, valid_codes)}
    out["latency_ms"] = m.latency_summary([records[c.case_id]["latency_ms"] for c in cases])
    out["fallback_cases"] = _fallback_counts(cases, records)
    out["step_latency_ms"] = {
        step: m.latency_summary(values) for step, values in _per_step_values(cases, records, "step_ms").items()
    }
    return out


def _step_names(cases: list[Case], records: dict[str, dict[str, Any]], key: str) -> list[str]:
    """Step names in order of first appearance (the pipeline order)."""
    names: dict[str, None] = {}
    for case in cases:
        for step in records[case.case_id].get(key, {}):
            names.setdefault(step, None)
    return list(names)


def _per_step_codes(cases: list[Case], records: dict[str, dict[str, Any]]) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for step in _step_names(cases, records, "steps"):
        out[step] = {
            c.case_id: set(records[c.case_id]["steps"][step]) for c in cases if step in records[c.case_id]["steps"]
        }
    return out


def _fallback_counts(cases: list[Case], records: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Per step, the number of cases where the LLM's answer was not used and the step fell back."""
    counts: dict[str, int] = {}
    for case in cases:
        for step in records[case.case_id].get("fallbacks") or {}:
            counts[step] = counts.get(step, 0) + 1
    return counts


def _per_step_values(cases: list[Case], records: dict[str, dict[str, Any]], key: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {step: [] for step in _step_names(cases, records, key)}
    for case in cases:
        for step, value in records[case.case_id].get(key, {}).items():
            out[step].append(float(value))
    return out


def _span_metrics(
    cases: list[Case], records: dict[str, dict[str, Any]], task: str, valid_codes: set[str] | None
) -> dict[str, Any] | None:
    gold_x = [g for c in cases for g in c.gold_spans(task)]
    if not gold_x or any(c.language != "es" for c in cases):
        return None
    pred_x = [(c.case_id, s["code"], s["start"], s["end"]) for c in cases for s in records[c.case_id]["spans"]]
    return m.span_prf(gold_x, pred_x, valid_codes=valid_codes)
