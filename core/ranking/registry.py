"""The supervised rankers of a knowledge base: loaded from the cache dir, or trained once and saved there.

A model is retrained when the coded notes, the candidate generator (the linker's cache key) or the feature code it
was trained with change; a model that had also learned from coders' submitted charts is retrained with them again,
so an upgrade never silently drops their feedback.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.ranking.ranker import RankerModel, feature_code_version, notes_fingerprint, train_ranker
from core.training.feedback import decision_notes

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

log = logging.getLogger(__name__)


class RankerSource(Protocol):
    """Where a coding run gets its ranker: the registry, or one pinned model (retraining scores a candidate)."""

    def get(self, language: str, splits: tuple[str, ...] | None = None) -> RankerModel | None: ...


class RankerRegistry:
    """One knowledge base's rankers, per (language, training splits)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._models: dict[tuple[str, tuple[str, ...]], RankerModel] = {}
        self._lock = threading.RLock()

    def path(self, language: str, splits: tuple[str, ...]) -> Path:
        return self.kb.settings.cache_dir / "models" / f"ranker-{language}-{'+'.join(splits) or 'none'}.pkl"

    def active_path(self, language: str) -> Path:
        """The file of the model the app codes with (trained on every labelled split)."""
        return self.path(language, self.kb.default_splits())

    def get(
        self, language: str, splits: tuple[str, ...] | None = None, *, train_if_missing: bool = True
    ) -> RankerModel | None:
        """The ranker trained on ``splits`` (loaded from the cache dir, or trained now); None without coded notes."""
        kb = self.kb
        splits = kb.default_splits() if splits is None else tuple(splits)
        memo_key = (language, splits)
        with self._lock:
            cached = self._models.get(memo_key)
            if cached is not None:
                return cached
            notes = kb.coded_notes(splits, language)
            if not notes:
                return None
            path = self.path(language, splits)
            model = None
            with_feedback = False  # the model being replaced had also learned from coders' submitted charts
            if path.is_file():
                try:
                    model = RankerModel.load(path)
                except (OSError, ValueError, EOFError) as exc:
                    log.warning("ignoring ranker %s: %s", path, exc)
                if model is not None and (
                    model.base_fingerprint != notes_fingerprint(notes)
                    or model.linker_key != kb.linker(language, splits).cache_key
                    or model.code_version != feature_code_version()
                ):
                    with_feedback = "decision-store" in model.trained_on
                    model = None
            if model is None and train_if_missing:
                # Said at warning level: a command that seems to hang for half a minute should say why.
                log.warning("training the %s ranker on %d coded notes (once per data or code change, about 20 s on "
                            "2 cores); it is then kept in %s", language, len(notes), path.parent)
                extra = decision_notes(kb, language, splits)[0] if with_feedback else []
                model = train_ranker(notes, kb.linker(language, splits), kb.tabular,
                                     label="codiesp:" + "+".join(splits), extra_notes=extra or None)
                try:
                    model.save(path)
                except OSError as exc:  # read-only or unusable cache dir: keep the model for this process
                    log.warning("could not save ranker %s (%s); it will be retrained next time", path, exc)
            if model is not None:
                self._models[memo_key] = model
            return model

    def forget(self, language: str, splits: tuple[str, ...] | None = None) -> int:
        """Drop the in-memory rankers of ``language`` (all splits, or only ``splits``) so the next use reloads the
        model file; returns how many were dropped. Call after replacing a file under ``path``."""
        with self._lock:
            keys = [k for k in self._models if k[0] == language and (splits is None or k[1] == tuple(splits))]
            for key in keys:
                del self._models[key]
            return len(keys)


class PinnedRanker:
    """One model for every request: a coding run that scores a candidate model (retraining's before/after)."""

    def __init__(self, model: RankerModel) -> None:
        self.model = model

    def get(self, language: str, splits: tuple[str, ...] | None = None) -> RankerModel | None:
        return self.model


_REGISTRIES: dict[int, RankerRegistry] = {}
_REGISTRIES_LOCK = threading.Lock()


def rankers_for(kb: KnowledgeBase) -> RankerRegistry:
    """The registry of ``kb`` (one per knowledge base for the life of the process, as knowledge bases are)."""
    with _REGISTRIES_LOCK:
        registry = _REGISTRIES.get(id(kb))
        if registry is None or registry.kb is not kb:
            registry = _REGISTRIES[id(kb)] = RankerRegistry(kb)
        return registry
