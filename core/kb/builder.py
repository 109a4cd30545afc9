"""``KnowledgeBuilder``: what a :class:`~core.kb.knowledge.KnowledgeBase` is made of, and ``build()`` to make it.

The builder holds the settings, any sources given as they are (a test's small tabular list or dictionaries, a tool
that has the index already) and the options (how retrievers get their dense half, who is told of progress). The
knowledge base it builds is read-only and loads every other piece lazily, on first use, from the on-disk caches.
The app and most commands use ``get_knowledge(settings)`` (one per process); a command that wants other options for
itself takes ``get_knowledge(settings).with_options(...)``, a view sharing the pieces already loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.candidates.linker import DictionaryLinker
from core.kb.index import AlphabeticIndex
from core.kb.knowledge import KnowledgeBase, KnowledgeOptions, LinkerKey, LoadedPieces
from core.kb.tabular import Tabular
from core.progress import Progress, noop_progress
from core.retrieval.hybrid import HybridRetriever
from core.settings import Settings


@dataclass
class KnowledgeBuilder:
    """``KnowledgeBuilder(settings, tabular=..., linkers=..., dense_policy="wait").build()``. Linkers and retrievers
    are keyed ``(language, splits)``, a retriever with no splits for English."""

    settings: Settings
    tabular: Tabular | None = None
    index: AlphabeticIndex | None = None
    linkers: Mapping[LinkerKey, DictionaryLinker] = field(default_factory=dict)
    retrievers: Mapping[LinkerKey, HybridRetriever] = field(default_factory=dict)
    dense_policy: str = "background"
    progress: Progress = noop_progress

    def build(self) -> KnowledgeBase:
        given = {name: value for name, value in (("tabular", self.tabular), ("index", self.index)) if value is not None}
        options = KnowledgeOptions(dense_policy=self.dense_policy, progress=self.progress)
        return KnowledgeBase(self.settings, LoadedPieces(given, self.linkers, self.retrievers), options)
