"""Retrain the supervised ranker from coder decisions, and show on a held-out split whether the feedback helped.

:func:`retrain_from_decisions` does three things, in this order:

1. **before**: the ranker trained on the training splits only (every labelled split but the evaluation split, what
   ``python -m core evaluate`` uses), without decisions: the cached model when it was trained that way;
2. **after**: the same training splits plus the coders' submitted charts, minus any chart whose text is a case of the
   evaluation split (that would leak the answers); both are scored on the evaluation split through the app's own
   ranker path (``code_note`` with strategy ``ranker``, backend ``none``) and ``core.evaluation.evaluate.run_evaluation``;
3. the app's active model (``kb.default_splits()`` plus the same decision notes) is retrained and saved over
   the registry's ``active_path``; the file it replaces is kept as ``<name>.previous.pkl`` and
   :func:`restore_previous_ranker` swaps the two back. The knowledge base's in-memory ranker is dropped so the app
   uses the new file at once.

Nothing is written until every model is trained and scored, so an error or an interruption leaves the active model as
it was. Errors a coder can fix (no submitted charts, no CodiEsp data, no evaluation split) raise :class:`RetrainError`
with a message meant to be shown as is.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.datasets.codiesp import Case
from core.evaluation.evaluate import run_evaluation
from core.evaluation.metrics import value_at
from core.kb.knowledge import KnowledgeBase
from core.progress import Progress, noop_progress
from core.ranking.ranker import RankerModel, notes_fingerprint, train_ranker
from core.ranking.registry import PinnedRanker, rankers_for
from core.schema import CodingResult
from core.settings import Settings
from core.training.feedback import notes_from_store, split_leaking_notes

log = logging.getLogger(__name__)

DECISIONS_LABEL = "decision-store"
#: (label, path in the metrics dict of ``core.evaluation.evaluate.compute_metrics``): the figures of the before/after table.
HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("full-code P", ("micro", "precision")),
    ("full-code R", ("micro", "recall")),
    ("full-code F1", ("micro", "f1")),
    ("category P", ("micro_category", "precision")),
    ("category R", ("micro_category", "recall")),
    ("category F1", ("micro_category", "f1")),
    ("MAP", ("map",)),
    ("MAP category", ("map_category",)),
)


class RetrainError(RuntimeError):
    """A reason retraining cannot run that the coder can act on; the message is shown as is."""


@dataclass
class ModelInfo:
    """Which ranker: its name (language, version and fingerprint prefix), full fingerprint and training data."""

    name: str
    fingerprint: str
    trained_on: list[str]
    notes: int
    path: str | None = None

    @classmethod
    def of(cls, model: RankerModel, path: Path | None = None) -> ModelInfo:
        return cls(name=model.name, fingerprint=model.fingerprint, trained_on=list(model.trained_on),
                   notes=int(model.metrics.get("notes", 0)), path=str(path) if path else None)


@dataclass
class ScoredModel:
    """A model and its headline metrics on the evaluation split."""

    model: ModelInfo
    metrics: dict[str, float]
    n_errors: int = 0


@dataclass
class RetrainReport:
    """What :func:`retrain_from_decisions` measured and saved."""

    language: str
    eval_split: str
    train_splits: list[str]  # what "before" and "after" learned from (plus decisions for "after")
    active_splits: list[str]  # what the app's retrained model learned from (plus decisions)
    n_eval_cases: int
    decision_notes: int  # submitted charts in this language (the latest submission per note)
    decision_notes_used: int
    excluded: list[str]  # store note ids left out: their text is a case of the evaluation split
    before: ScoredModel
    after: ScoredModel
    active: ModelInfo  # the model now saved at the active path
    previous: ModelInfo | None  # the model it replaced (kept as <name>.previous.pkl), None when there was none
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        return len(self.excluded)

    def deltas(self) -> dict[str, float]:
        """after − before, per headline metric."""
        return {k: round(self.after.metrics[k] - self.before.metrics[k], 4) for k in self.before.metrics}

    def table(self) -> list[dict[str, Any]]:
        """One row per headline metric: metric, before, after, delta."""
        deltas = self.deltas()
        return [{"metric": k, "before": self.before.metrics[k], "after": self.after.metrics[k], "delta": deltas[k]}
                for k in self.before.metrics]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"deltas": self.deltas(), "n_excluded": self.n_excluded}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetrainReport:
        """Rebuild a report from :meth:`to_dict` (e.g. kept in a UI session)."""

        def scored(value: Mapping[str, Any]) -> ScoredModel:
            return ScoredModel(model=ModelInfo(**value["model"]), metrics=dict(value["metrics"]),
                               n_errors=int(value.get("n_errors", 0)))

        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        values["before"], values["after"] = scored(data["before"]), scored(data["after"])
        values["active"] = ModelInfo(**data["active"])
        values["previous"] = ModelInfo(**data["previous"]) if data.get("previous") else None
        return cls(**values)


# --------------------------------------------------------------------------- decision notes


def submitted_chart_counts(store: Any) -> dict[str, int]:
    """{language: notes with at least one submitted chart}, from the store's summaries (no note text read)."""
    charted = {(row["note_id"], row.get("language", "")) for row in store.submissions()}  # the run's language
    counts: dict[str, int] = {}
    for _, language in charted:
        counts[language] = counts.get(language, 0) + 1
    return counts


# --------------------------------------------------------------------------- scoring


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The :data:`HEADLINE` figures of a ``compute_metrics`` dict (0.0 where absent), rounded to 4 places."""
    out: dict[str, float] = {}
    for label, path in HEADLINE:
        value = value_at(metrics, path)
        out[label] = round(float(value), 4) if isinstance(value, int | float) else 0.0
    return out


def score_ranker(
    kb: KnowledgeBase,
    settings: Settings,
    model: RankerModel,
    cases: list[Case],
    train_splits: tuple[str, ...],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """(metrics, errors) of ``model`` on ``cases``: ``python -m core evaluate --strategy ranker --backend none``."""
    from core.strategies.runner import code_note

    run_settings = settings.with_overrides(strategy="ranker", backend="none")

    def code_case(case: Case) -> CodingResult:
        return code_note(case.text, run_settings, kb=kb, splits=train_splits, rankers=PinnedRanker(model))

    settings_dict = run_settings.public_dict() | {"train_splits": list(train_splits), "model": model.name}
    report = run_evaluation(cases, code_case, None, settings_dict=settings_dict, progress=progress)
    return report.metrics, int(report.metrics.get("n_errors", 0))


# --------------------------------------------------------------------------- retraining


def _previous_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def _replace_with_pair(source: Path, target: Path) -> None:
    """Move a model file and its ``.json`` description over ``target`` (each move atomic)."""
    os.replace(source, target)
    if source.with_suffix(".json").is_file():
        os.replace(source.with_suffix(".json"), target.with_suffix(".json"))
    else:
        target.with_suffix(".json").unlink(missing_ok=True)  # never leave another model's description beside it


def save_active(model: RankerModel, path: Path) -> ModelInfo | None:
    """Save ``model`` at ``path``, keeping the file there before as ``<name>.previous.pkl``; returns that one's
    info (None when there was no readable model before)."""
    previous: ModelInfo | None = None
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = model.save(path.with_name(f"{path.stem}.staged{path.suffix}"))
    if path.is_file():
        try:
            previous = ModelInfo.of(RankerModel.load(path), _previous_path(path))
        except (OSError, ValueError, EOFError, AttributeError, ImportError) as exc:
            log.warning("the model replaced at %s was unreadable (%s); it is kept as the previous one anyway", path,
                        exc)
        copy = path.with_name(f"{path.stem}.copy{path.suffix}")
        shutil.copy2(path, copy)
        if path.with_suffix(".json").is_file():
            shutil.copy2(path.with_suffix(".json"), copy.with_suffix(".json"))
        _replace_with_pair(copy, _previous_path(path))
    _replace_with_pair(staged, path)
    return previous


def retrain_from_decisions(
    kb: KnowledgeBase,
    settings: Settings,
    store: Any,
    *,
    eval_split: str = "dev",
    limit: int | None = None,
    progress: Progress | None = None,
) -> RetrainReport:
    """Score the ranker before / after learning from the coders' submitted charts on ``eval_split`` (its first
    ``limit`` cases), then retrain and save the app's active model with them. See the module docstring."""
    step = f"retrain {settings.language}"

    def notify(message: str, fraction: float) -> None:  # one bar for the whole run, as a fraction of 1
        (progress or noop_progress)(step, message, fraction, 1.0)
    language = settings.language
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    # -- what there is to learn from, checked before anything slow
    notify("Reading the submitted charts", 0.0)
    decision_notes = notes_from_store(store, language)
    if not decision_notes:
        raise RetrainError(
            f"No submitted charts in {language!r} yet: code notes on the main page and submit the reviewed chart "
            "before retraining from coder decisions."
        )
    root = kb.codiesp_root
    if root is None:
        raise RetrainError(
            f"No CodiEsp data at {settings.resolve(settings.codiesp_dir)}: the ranker learns from coded notes first "
            "(settings data_dir / codiesp_dir)."
        )
    labelled = kb.labelled_splits()
    if eval_split not in labelled:
        raise RetrainError(
            f"No labelled {eval_split!r} split under {root} to measure the change on "
            f"(labelled splits: {', '.join(labelled) or 'none'})."
        )
    train_splits = tuple(s for s in labelled if s != eval_split)
    train_notes = kb.coded_notes(train_splits, language) if train_splits else []
    if not train_notes:
        raise RetrainError(f"No coded {language!r} notes to train on besides {eval_split!r} under {root}.")
    active_splits = kb.default_splits()
    active_notes = kb.coded_notes(active_splits, language)
    if not active_notes:
        raise RetrainError(f"No coded {language!r} notes in the app's splits ({', '.join(active_splits)}).")
    try:
        all_cases = kb.load_cases(root, eval_split, language)
    except (FileNotFoundError, ValueError) as exc:
        raise RetrainError(f"Cannot read the {eval_split!r} split: {exc}") from exc
    used, excluded = split_leaking_notes(decision_notes, all_cases)
    if not used:
        raise RetrainError(
            f"All {len(decision_notes)} submitted {language!r} charts are {eval_split!r} cases; training on them "
            f"would score the model on its own answers, so there is nothing to learn from yet."
        )
    cases = all_cases[:limit] if limit else all_cases
    if not cases:
        raise RetrainError(f"The {eval_split!r} split has no {language!r} notes.")
    label = "codiesp:" + "+".join(train_splits)
    since = lap("prepare_s", started)

    # -- before: the training splits only, without decisions (the cached model when it was trained that way)
    notify(f"Loading the ranker trained on {'+'.join(train_splits)}", 0.02)
    before_model = rankers_for(kb).get(language, train_splits)
    if before_model is None or DECISIONS_LABEL in before_model.trained_on:
        before_model = train_ranker(train_notes, kb.linker(language, train_splits), kb.tabular, label=label)
    since = lap("before_train_s", since)

    def scoring(name: str, start: float, span: float) -> Callable[[int, int], None]:
        return lambda done, total: notify(f"Scoring the {name} model on {eval_split}: {done}/{total} cases",
                                          start + span * done / max(total, 1))

    before_metrics, before_errors = score_ranker(kb, settings, before_model, cases, train_splits,
                                                 scoring("before", 0.1, 0.3))
    since = lap("before_score_s", since)

    # -- after: the same splits plus the decisions
    notify(f"Training on {'+'.join(train_splits)} and {len(used)} coder charts", 0.4)
    after_model = train_ranker(train_notes, kb.linker(language, train_splits), kb.tabular, label=label,
                               extra_notes=used)
    since = lap("after_train_s", since)
    after_metrics, after_errors = score_ranker(kb, settings, after_model, cases, train_splits,
                                               scoring("after", 0.5, 0.3))
    since = lap("after_score_s", since)

    # -- the app's model: default splits plus decisions, saved last so a failure above changes nothing
    notify(f"Retraining the app's model on {'+'.join(active_splits)} and {len(used)} coder charts", 0.8)
    active_model = train_ranker(active_notes, kb.linker(language, active_splits), kb.tabular,
                                label="codiesp:" + "+".join(active_splits), extra_notes=used)
    path = rankers_for(kb).path(language, active_splits)
    previous = save_active(active_model, path)
    rankers_for(kb).forget(language)
    lap("active_train_s", since)
    timings["total_s"] = round(time.perf_counter() - started, 2)
    notify("Done", 1.0)
    return RetrainReport(
        language=language,
        eval_split=eval_split,
        train_splits=list(train_splits),
        active_splits=list(active_splits),
        n_eval_cases=len(cases),
        decision_notes=len(decision_notes),
        decision_notes_used=len(used),
        excluded=[note[0] for note in excluded],
        before=ScoredModel(ModelInfo.of(before_model), headline(before_metrics), before_errors),
        after=ScoredModel(ModelInfo.of(after_model), headline(after_metrics), after_errors),
        active=ModelInfo.of(active_model, path),
        previous=previous,
        timings_s=timings,
    )


def active_ranker_path(kb: KnowledgeBase, language: str) -> Path:
    return rankers_for(kb).active_path(language)


def previous_ranker_info(kb: KnowledgeBase, language: str) -> ModelInfo | None:
    """The model a restore would bring back, or None when there is none (or it cannot be read)."""
    previous = _previous_path(active_ranker_path(kb, language))
    if not previous.is_file():
        return None
    try:
        return ModelInfo.of(RankerModel.load(previous), previous)
    except (OSError, ValueError, EOFError, AttributeError, ImportError):
        return None


def restore_previous_ranker(kb: KnowledgeBase, language: str) -> ModelInfo:
    """Swap the active model of ``language`` with its ``.previous.pkl`` (restoring again undoes the restore) and
    drop the in-memory ranker; returns the model now active."""
    path = active_ranker_path(kb, language)
    previous = _previous_path(path)
    if not previous.is_file():
        raise RetrainError(f"No previous {language!r} model to restore (expected {previous}).")
    try:
        model = RankerModel.load(previous)
    except (OSError, ValueError, EOFError, AttributeError, ImportError) as exc:
        raise RetrainError(f"The previous model {previous} cannot be read: {exc}") from exc
    corpus = kb.coded_notes(kb.default_splits(), language)
    if corpus and model.base_fingerprint != notes_fingerprint(corpus):
        raise RetrainError(
            f"The previous model {model.name} was trained on different coded notes than the current data, so the "
            "app would retrain over it at once; it was left in place."
        )
    if path.is_file():
        swap = path.with_name(f"{path.stem}.swap{path.suffix}")
        _replace_with_pair(path, swap)
        _replace_with_pair(previous, path)
        _replace_with_pair(swap, previous)
    else:
        _replace_with_pair(previous, path)
    rankers_for(kb).forget(language)
    return ModelInfo.of(model, path)
