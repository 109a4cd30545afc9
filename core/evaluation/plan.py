"""Planning an evaluation run: which splits exist, which settings it takes, and the cases it scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.evaluation.runs import LoadedRun

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase
    from core.schema import CodingResult
    from core.settings import Settings

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.datasets.codiesp import (  # noqa: F401 - available_splits: re-exported for the evaluation page
    GOLD_IN_CURRENT_EDITION,
    TEXT_DIRS,
    Case,
    available_splits,
    codiesp_root,
    labelled_splits,
)

# --------------------------------------------------------------------------- starting a run


@dataclass
class EvaluationPlan:
    """Everything :func:`core.evaluation.evaluate.run_evaluation` needs for one split, wired like ``python -m core evaluate``."""

    settings: Settings
    split: str
    cases: list[Case]
    train_splits: tuple[str, ...]
    train_codes: set[str]
    settings_dict: dict[str, Any]
    kb: KnowledgeBase | None = None

    def _code(self, text: str) -> CodingResult:
        from core.kb.knowledge import get_knowledge
        from core.strategies.runner import code_note

        if self.kb is None:
            self.kb = get_knowledge(self.settings)
        return code_note(text, self.settings, kb=self.kb, splits=self.train_splits)

    def code_case(self, case: Case) -> CodingResult:
        return self._code(case.text)

    def warm_up(self) -> None:
        """Code a one-line note so loading is not counted as the first case's latency (see run_evaluation)."""
        from core.evaluation.evaluate import WARM_UP_NOTES

        self._code(WARM_UP_NOTES[self.settings.language])


def plan_evaluation(
    settings: Settings, split: str, limit: int | None = None, gold_codes: str | None = GOLD_IN_CURRENT_EDITION
) -> EvaluationPlan:
    """Load ``split`` in ``settings.language`` (first ``limit`` cases), gold codes in the tabular list's edition
    (as written with ``gold_codes=None``: resuming a run scored that way); the dictionary learns from the other
    labelled splits only, and their gold codes are the "seen" codes. Raises FileNotFoundError without data."""
    from core.datasets.codiesp import gold_code_set
    from core.kb.knowledge import get_knowledge

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
    from core.kb.knowledge import get_knowledge

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
