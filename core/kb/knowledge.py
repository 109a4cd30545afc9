"""The knowledge base facade: tabular list, alphabetical index, guidance, dictionary linker and retrievers.

A :class:`KnowledgeBase` is made by :class:`core.kb.builder.KnowledgeBuilder` (settings, any given sources, options)
or by ``get_knowledge(settings)`` (one per process) and is read-only from outside. Its pieces are loaded lazily on
first use and cached on disk under keys made of resource versions, so the first use builds and later uses load;
``with_options`` gives another view (dense policy, progress) that shares the pieces loaded so far.
``resources()`` and ``notices()`` say what was loaded and what is missing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.candidates.linker import UNCALIBRATED_PRIORS, DictionaryLinker
from core.candidates.navigator import NAVIGATOR_VERSION, IndexNavigator, NavigatorTable
from core.datasets.codiesp import GOLD_IN_CURRENT_EDITION, Case, CodiEsp, Note, load_split
from core.kb import terms as term_sources
from core.kb.bilingual import learn_lexicon, projected_span_terms
from core.kb.cache import cached_pickle
from core.kb.index import AlphabeticIndex, build_index
from core.kb.neoplasm import DEFAULT_VOCABULARY, NEOPLASM_SOURCE, neoplasm_terms
from core.kb.resources import ResourceInfo, combined_key, file_fingerprint
from core.kb.tabular import Code, Tabular, normalize_code
from core.nlp.textnorm import normalize, term_key
from core.progress import Progress, noop_progress
from core.retrieval.hybrid import (
    DEFAULT_FUSION,
    DENSE_POLICIES,
    FUSION_BY_LANGUAGE,
    CorpusItem,
    HybridRetriever,
    RetrievalHit,
)
from core.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)
LINKER_VERSION = "9"  # 9: English supplement terms too; 8: the Spanish supplement terms beside the corpus; 7: CodiEsp codes in the tabular list's edition
INDEX_FORMAT = "index-2"  # bump when AlphabeticIndex's fields or normalisation change


LinkerKey = tuple[str, tuple[str, ...]]  # (language, splits)


@dataclass(frozen=True)
class KnowledgeOptions:
    """How retrievers get their dense half (``core.retrieval.hybrid.DENSE_POLICIES``): "background" in the app and the
    LLM strategies; the command line uses "cached" (one search) or "wait" (evaluation, ``build --dense``); and
    who is told how a long build is going."""

    dense_policy: str = "background"
    progress: Progress = noop_progress

    def __post_init__(self) -> None:
        if self.dense_policy not in DENSE_POLICIES:
            raise ValueError(f"dense_policy must be one of {DENSE_POLICIES}, got {self.dense_policy!r}")


class LoadedPieces:
    """What one knowledge base has loaded so far (or was given), shared by all its views (``with_options``).

    Each piece is loaded once, on first use, under its own lock: a thread loading the index does not hold back one
    that wants the tabular list."""

    def __init__(
        self, given: Mapping[str, Any] | None = None, linkers: Mapping[LinkerKey, DictionaryLinker] | None = None,
        retrievers: Mapping[LinkerKey, HybridRetriever] | None = None,
    ) -> None:
        self.values: dict[str, Any] = dict(given or {})
        self.linkers: dict[LinkerKey, DictionaryLinker] = dict(linkers or {})
        self.retrievers: dict[LinkerKey, HybridRetriever] = dict(retrievers or {})
        self.extra_infos: dict[str, ResourceInfo] = {}
        self.timings: dict[str, float] = {}
        self.lock = threading.RLock()  # linkers and retrievers
        self._piece_locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()

    def get(self, name: str, load: Callable[[], Any]) -> Any:
        if name in self.values:
            return self.values[name]
        with self._locks_lock:
            lock = self._piece_locks.setdefault(name, threading.RLock())
        with lock:
            if name not in self.values:
                self.values[name] = load()
            return self.values[name]


class KnowledgeBase:
    """The reference knowledge of one set of settings, read-only from outside (see the module's docstring)."""

    __slots__ = ("_loaded", "_options", "_settings")

    def __init__(
        self, settings: Settings, loaded: LoadedPieces | None = None, options: KnowledgeOptions | None = None
    ) -> None:
        """Nothing loaded and default options; ``KnowledgeBuilder`` gives sources (a test's small tabular list or
        dictionaries, a tool that has the index already) and options. A retriever is keyed ``(language, splits)``,
        with no splits for English."""
        self._settings = settings
        self._loaded = loaded if loaded is not None else LoadedPieces()
        self._options = options if options is not None else KnowledgeOptions()

    def with_options(self, *, dense_policy: str | None = None, progress: Progress | None = None) -> KnowledgeBase:
        """Another view of this knowledge base with other options (a command that waits for the dense half, shows
        progress): it shares every piece loaded so far or later (a retriever already made keeps its own policy)."""
        changes: dict[str, Any] = {}
        if dense_policy is not None:
            changes["dense_policy"] = dense_policy
        if progress is not None:
            changes["progress"] = progress
        return KnowledgeBase(self._settings, self._loaded, replace(self._options, **changes))

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def options(self) -> KnowledgeOptions:
        return self._options

    @property
    def timings(self) -> dict[str, float]:
        """Seconds each piece took to load (a copy)."""
        return dict(self._loaded.timings)

    # -- sources ----------------------------------------------------------------------------------
    @property
    def tabular(self) -> Tabular:
        return self._loaded.get("tabular", self._load_tabular)

    def _load_tabular(self) -> Tabular:
        started = time.perf_counter()
        tabular = Tabular.load(self.settings.cache_dir)
        self._loaded.timings["tabular_load_s"] = round(time.perf_counter() - started, 3)
        return tabular

    def _index_sources(self) -> list[tuple[str, Path | None]]:
        s = self.settings
        return [
            ("cms-index-xml", s.resolve(s.index_xml)),
            ("cms-index-csv", s.resolve(s.index_csv)),
            ("neoplasm", s.resolve(s.neoplasm_xml)),
            ("drug", s.resolve(s.drug_xml)),
            ("external-cause", s.resolve(s.eindex_xml)),
        ]

    def _index_key(self) -> str:
        parts = [INDEX_FORMAT, self.tabular.info.key()]
        for kind, path in self._index_sources():
            # A missing file's path is part of the key: the cached index's notices name the path looked at.
            parts.append(f"{kind}={file_fingerprint(path) if path and path.is_file() else f'missing:{path}'}")
        return combined_key(*parts)

    @property
    def index(self) -> AlphabeticIndex:
        return self._loaded.get("index", self._load_index)

    def _load_index(self) -> AlphabeticIndex:
        started = time.perf_counter()
        sources = self._index_sources()
        index = cached_pickle(self.settings.cache_dir, "index", self._index_key(), lambda: build_index(sources, self.tabular))
        self._loaded.timings["index_load_s"] = round(time.perf_counter() - started, 3)
        return index

    @property
    def navigator(self) -> IndexNavigator | None:
        """The index's "with" / "in" / "due to" and History subterms, ready to walk (None without the official
        index: the index derived from the tabular list has no subterms)."""
        return self._loaded.get("navigator", self._load_navigator)

    def _load_navigator(self) -> IndexNavigator | None:
        if not self.official_index_loaded:
            return None
        started = time.perf_counter()
        import core.candidates.navigator

        key = combined_key(NAVIGATOR_VERSION, INDEX_FORMAT, *(info.key() for info in self.index.infos),
                           Path(core.candidates.navigator.__file__).read_text(), _source_version())

        def build() -> NavigatorTable:
            # Official wording only (index paths and tabular titles): the requirements do not move with CodiEsp.
            words = DictionaryLinker("en", [*term_sources.tabular_terms(self.tabular),
                                            *term_sources.index_terms(self.index)])
            return NavigatorTable.build(self.index, words)

        table = cached_pickle(self.settings.cache_dir, "navigator", key, build)
        self._loaded.timings["navigator_load_s"] = round(time.perf_counter() - started, 3)
        return IndexNavigator(self.index, table)

    @property
    def index_infos(self) -> list[ResourceInfo]:
        """The index's resource lines (editions, what is missing) without loading the index when it is not loaded:
        a cached dictionary's key and the resource list need only these, and the index takes ~230 MB in memory."""
        return self._loaded.get("index_infos", self._load_index_infos)

    def _load_index_infos(self) -> list[ResourceInfo]:
        return cached_pickle(self.settings.cache_dir, "index-infos", self._index_key(), lambda: list(self.index.infos))

    @property
    def guidance(self) -> Any:
        return self._loaded.get("guidance", self._load_guidance)

    def _load_guidance(self) -> Any:
        from core.kb.guidance import load_guidance

        return load_guidance(PROJECT_ROOT / "data" / "guidance", self.settings.resolve(self.settings.guidelines_pdf))

    @property
    def codiesp(self) -> CodiEsp | None:
        """The CodiEsp corpus of the settings (None when its folder is missing)."""
        return CodiEsp.from_settings(self.settings)

    @property
    def codiesp_root(self) -> Path | None:
        corpus = self.codiesp
        return None if corpus is None else corpus.root

    def labelled_splits(self) -> tuple[str, ...]:
        corpus = self.codiesp
        return () if corpus is None else corpus.labelled_splits()

    def default_splits(self) -> tuple[str, ...]:
        wanted = self.settings.dictionary_splits
        if wanted:
            return tuple(s.strip() for s in wanted.split(",") if s.strip())
        return self.labelled_splits()

    # -- coded notes (for fitting) ----------------------------------------------------------------
    def coded_notes(self, splits: tuple[str, ...], language: str) -> list[Note]:
        """The coded notes of ``splits`` in ``language``, their codes in the tabular list's edition (as the terms)."""
        corpus = self.codiesp
        return [] if corpus is None else corpus.coded_notes(splits, language, self.tabular.current_code)

    # -- dictionary linker ------------------------------------------------------------------------
    def _in_current_edition(self, entries: Iterable[term_sources.TermEntry]) -> list[term_sources.TermEntry]:
        """CodiEsp's terms with their codes in the tabular list's edition (``Tabular.current_code``): the app
        proposes codes a claim can carry today (R51.9, not 2018's R51; S72.002A, not CodiEsp's S72.002)."""
        current = self.tabular.current_code
        return [term_sources.TermEntry(e.text, current(e.code), e.source, e.case_id) for e in entries]

    def load_cases(
        self, root: Path, split: str, language: str, gold_codes: str | None = GOLD_IN_CURRENT_EDITION
    ) -> list[Case]:
        """A CodiEsp-style split with its diagnosis codes in the tabular list's edition, the edition the app codes
        and learns in (the codes as written stay on each case for the figures CodiEsp's scorer would give).
        ``gold_codes=None`` reads them as written, as runs recorded before the codes were moved were scored."""
        code_map = self.tabular.current_code if gold_codes == GOLD_IN_CURRENT_EDITION else None
        return load_split(root, split, language, code_map)  # type: ignore[arg-type]

    def _term_entries(self, language: str, splits: tuple[str, ...]) -> list[term_sources.TermEntry]:
        entries: list[term_sources.TermEntry] = []
        if language == "en":
            entries.extend(term_sources.tabular_terms(self.tabular))
            entries.extend(term_sources.index_terms(self.index))
            entries.extend(term_sources.supplement_terms(language))  # wordings the index and the titles lack
            if not self.official_index_loaded:
                # The official index lists "Hypertension" → I10; the tabular list only writes "hypertension
                # (arterial) (benign) ...": without the index, its nonessential words in parentheses are optional.
                includes = list(term_sources.includes_terms(self.tabular))
                entries.extend(includes)
                entries.extend(term_sources.without_parenthesised_words([*term_sources.tabular_terms(self.tabular),
                                                                         *includes]))
            corpus = self.codiesp
            if corpus is not None:
                entries.extend(self._in_current_edition(projected_span_terms(corpus, splits)))
        else:
            who, info = term_sources.cie_who_spanish_terms(self.tabular)
            entries.extend(who)
            if self.codiesp_root is None:  # no annotated Spanish terms: the WHO titles and a starter list
                entries.extend(term_sources.without_unspecified_words(who))
                starter, starter_info = term_sources.starter_terms(language)
                entries.extend(starter)
                if starter_info is not None:
                    self._loaded.extra_infos[f"starter-{language}"] = starter_info
            entries.extend(term_sources.supplement_terms(language))  # wordings the corpus and the titles lack
            self._loaded.extra_infos["cie-who-es"] = info
            user, user_info = term_sources.user_code_list_terms(
                self.settings.resolve(self.settings.cie10es_file), "cie10es-user"
            )
            entries.extend(user)
            self._loaded.extra_infos["cie10es-user"] = user_info or ResourceInfo(
                name="CIE-10-ES 2024 official code list",
                loaded=False,
                notice="official CIE-10-ES list not provided (set cie10es_file); Spanish terms come from "
                + ("CodiEsp annotations and " if self.codiesp_root is not None else "")
                + "WHO CIE-10 descriptions",
            )
            corpus = self.codiesp
            if corpus is not None and splits:
                entries.extend(self._in_current_edition(term_sources.codiesp_span_terms(corpus, splits)))
        return entries

    def linker(self, language: str, splits: tuple[str, ...] | None = None) -> DictionaryLinker:
        splits = self.default_splits() if splits is None else tuple(splits)
        memo_key = (language, splits)
        with self._loaded.lock:
            if memo_key in self._loaded.linkers:
                return self._loaded.linkers[memo_key]
            started = time.perf_counter()
            parts = [LINKER_VERSION, _source_version(), language, ",".join(splits), self.tabular.info.key()]
            parts += [info.key() for info in self.index_infos]
            corpus = self.codiesp
            if corpus is not None:
                parts += [file_fingerprint(path) if path else "-" for path in corpus.learned_from(splits)]
            user_file = self.settings.resolve(self.settings.cie10es_file)
            parts.append(file_fingerprint(user_file) if user_file and user_file.is_file() else "-")
            parts.append(file_fingerprint(DEFAULT_VOCABULARY) if DEFAULT_VOCABULARY.is_file() else "-")
            for listed in (term_sources.STARTER_TERMS.get(language), term_sources.SUPPLEMENT_TERMS.get(language)):
                parts.append(file_fingerprint(listed) if listed and listed.is_file() else "-")

            cache_key = combined_key(*parts)

            def build() -> DictionaryLinker:
                # The key travels with the linker: a ranker trained on another linker's candidates is stale.
                linker = DictionaryLinker(language, self._term_entries(language, splits), cache_key=cache_key)
                # Neoplasm Table and see-reference terms feed the linker only (the retrieval corpus stays as is).
                for entry in neoplasm_terms(self.index, self.tabular, language, DEFAULT_VOCABULARY):
                    linker.add(entry)
                if language == "en":
                    for entry in term_sources.see_reference_terms(self.index):
                        linker.add(entry)
                if language == "es" and corpus is not None and splits:
                    lexicon, _ = learn_lexicon(corpus, splits)
                    linker.add_translated(
                        [*term_sources.tabular_terms(self.tabular), *term_sources.index_terms(self.index),
                         *term_sources.see_reference_terms(self.index)],
                        lexicon,
                    )
                notes = self.coded_notes(splits, language)
                if notes:
                    linker.fit(notes, label="codiesp:" + "+".join(splits))
                else:
                    # No coded notes to calibrate scores: the source priors would keep every match below the code
                    # threshold, and a fresh machine would code nothing. Official terms are coded (uncalibrated).
                    linker.priors = dict(UNCALIBRATED_PRIORS)
                    # ... and category-level terms ("Pneumonia" → J18) propose the code a coder completes them
                    # to (J18.9). With coded notes, the statistics say which codes coders use instead.
                    linker.complete_codes(self.tabular.is_billable, self.tabular.default_code)
                return linker

            # One file per (language, splits): evaluation (train only) and the app (train+dev) each keep theirs
            # instead of replacing each other's (a 40 s rebuild every time one follows the other).
            name = f"linker-{language}-{'+'.join(splits) or 'none'}"
            linker = cached_pickle(self.settings.cache_dir, name, cache_key, build)
            self._describe_bilingual(linker, splits)
            if linker.source_counts.get(NEOPLASM_SOURCE):
                self._loaded.extra_infos[f"neoplasm-{language}"] = ResourceInfo(
                    name=f"Neoplasm Table navigation ({language})", edition=DEFAULT_VOCABULARY.name,
                    items=linker.source_counts[NEOPLASM_SOURCE],
                    source="behaviour + site words mapped to the CMS Neoplasm Table's columns",
                )
            if language == "es" and "cie-who-es" not in self._loaded.extra_infos:
                self._term_entries(language, ())  # fill resource infos without rebuilding
            self._loaded.timings[f"linker_{language}_load_s"] = round(time.perf_counter() - started, 3)
            self._loaded.linkers[memo_key] = linker
            return linker

    @property
    def official_index_loaded(self) -> bool:
        return any(info.loaded and info.name.startswith("ICD-10-CM index (cms-index") for info in self.index_infos)

    def _describe_bilingual(self, linker: DictionaryLinker, splits: tuple[str, ...]) -> None:
        """Resource lines for what the aligned translations gave this linker (English terms, Spanish open set)."""
        projected = sum(n for source, n in linker.source_counts.items() if source.endswith("-en"))
        if linker.language == "en" and projected:
            self._loaded.extra_infos["codiesp-en"] = ResourceInfo(
                name="CodiEsp evidence projected to English", edition="+".join(splits), items=projected,
                source="Spanish spans mapped onto text_files_en through sentence alignment",
            )
        if linker.language == "es" and linker.translation is not None:
            self._loaded.extra_infos["es-en-words"] = ResourceInfo(
                name="Spanish→English word lexicon (open-set index path)", edition="+".join(splits),
                items=len(linker.translation.words),
                source=f"CodiEsp aligned translations; {len(linker.translation.skeletons)} cognate spellings",
            )

    # -- retrieval --------------------------------------------------------------------------------
    def retrieval_corpus(self, language: str, splits: tuple[str, ...]) -> list[CorpusItem]:
        """Index paths and tabular descriptions (and Spanish terms for ``es``).

        The dense half embeds only category and 4-character descriptions plus the Spanish terms: embedding all
        ~190k index paths takes about half an hour at the ~100 texts/s measured here on one core.
        """
        corpus: list[CorpusItem] = []
        for term in self.index.coded_terms():
            if term.source in ("drug", "external-cause"):
                continue
            dense = term.source == "tabular" and len(term.target_code) <= 5
            corpus.append(CorpusItem(term.title, term.target_code, term.source, term.id, dense))
        if language == "es":
            # One item per (term, code): CodiEsp repeats a span in many cases, and a coder wants each term once.
            seen: set[tuple[str, str]] = set()
            for entry in self._term_entries("es", splits):
                key = (normalize(entry.text), entry.code)
                if key not in seen:
                    seen.add(key)
                    corpus.append(CorpusItem(entry.text, entry.code, entry.source))
        return corpus

    def retriever(self, language: str, splits: tuple[str, ...] | None = None) -> HybridRetriever:
        """The language's retriever: its lexical half now, its dense half as ``dense_policy`` says (by default
        built or loaded in a background thread the first time a search needs it; ``core build`` never embeds)."""
        splits = self.default_splits() if splits is None else tuple(splits)
        with self._loaded.lock:
            key = (language, splits if language == "es" else ())
            if key not in self._loaded.retrievers:
                corpus = self.retrieval_corpus(language, splits)
                model = self.settings.embedding_model if self.settings.embedding_model != "none" else None
                self._loaded.retrievers[key] = HybridRetriever.load_or_build(
                    corpus, self.settings.cache_dir, model, dense_policy=self._options.dense_policy, progress=self._options.progress,
                    fusion=FUSION_BY_LANGUAGE.get(language, DEFAULT_FUSION),
                )
            return self._loaded.retrievers[key]

    def search(self, query: str, language: str = "en", k: int = 10) -> list[RetrievalHit]:
        return self.retriever(language).search(query, k=k)

    def retrieval_notices(self) -> list[str]:
        """What the retrievers in use say about their dense half (being built, not built, unavailable)."""
        with self._loaded.lock:
            retrievers = list(self._loaded.retrievers.items())
        lines = []
        for (language, _), retriever in retrievers:
            line = retriever.dense_status().describe()
            if line:
                lines.append(f"{language}: {line}")
        return lines

    def search_codes(self, query: str, limit: int = 20, *, language: str | None = None) -> list[Code]:
        """Code browser search: the code itself, then code prefixes, then, with ``language``, the codes of the
        dictionary term the words are ("hipertensión arterial" → I10: the tabular list is English), then
        descriptions holding every query word (whole-word and shorter descriptions first, so "heart failure"
        shows I50 before I09.81)."""
        text = query.strip()
        if not text:
            return []
        upper = normalize_code(text)
        words = re.findall(r"\w+", normalize(text))  # punctuation typed in the query ("heart (failure") is not a word
        scored: list[tuple[tuple[int, int, int], Code]] = []
        if language and words:
            linker = self.linker(language)
            key = term_key(text, language)
            if key in linker.rules:
                for rank, (code, _, _) in enumerate(linker.scored_codes(key)):
                    item = self.tabular.get(code)
                    if item is not None:
                        scored.append(((1, 999, rank), item))  # after exact codes and code prefixes
        for item in self.tabular.codes.values():
            if item.kind in ("chapter", "block"):
                continue
            if item.code == upper:
                scored.append(((0, 0, 0), item))
            elif item.code.startswith(upper.rstrip(".")) and len(upper) >= 2:
                scored.append(((1, len(item.code), 0), item))
            else:
                description = normalize(item.description)
                if all(w in description for w in words):
                    # Whole words whatever the punctuation after them ("Heart failure, unspecified").
                    whole = all(w in set(re.findall(r"\w+", description)) for w in words)
                    scored.append(((2 if whole else 3, len(description), len(item.code)), item))
        scored.sort(key=lambda pair: pair[0])
        unique: dict[str, Code] = {}  # each code once, at its best place
        for _, item in scored:
            unique.setdefault(item.code, item)
            if len(unique) == limit:
                break
        return list(unique.values())

    # -- provenance -------------------------------------------------------------------------------
    def resources(self) -> list[ResourceInfo]:
        infos = [self.tabular.info, *self.index_infos]
        try:
            infos.append(self.guidance.info)
        except Exception as exc:  # guidance is optional
            infos.append(ResourceInfo(name="coding guidance", loaded=False, notice=str(exc)))
        root = self.codiesp_root
        infos.append(
            ResourceInfo(name="CodiEsp corpus", source=str(root), edition="v4", items=len(self.labelled_splits()))
            if root
            else ResourceInfo(
                name="CodiEsp corpus",
                loaded=False,
                notice=f"not found under {self.settings.data_dir}: no Spanish annotated terms, no learned "
                "statistics and no ranker; exact matches of official terms (index, tabular list, WHO Spanish titles) "
                "are coded at a fixed, uncalibrated score: review every code",
            )
        )
        infos.extend(self._loaded.extra_infos.values())
        return infos

    def notices(self) -> list[str]:
        return [f"{info.name}: {info.notice}" for info in self.resources() if info.notice] + self.retrieval_notices()

    def resource_versions(self) -> dict[str, str]:
        return {info.name: f"{info.edition} {info.source}".strip() for info in self.resources() if info.loaded}


def _source_version() -> str:
    """Cached linkers depend on the matching code itself, so its source is part of the cache key."""
    import core.candidates.linker
    import core.datasets.codiesp
    import core.kb.bilingual
    import core.kb.index
    import core.kb.neoplasm
    import core.kb.tabular
    import core.kb.terms
    import core.nlp.assertion
    import core.nlp.textnorm

    # The tabular list's code moves CodiEsp's codes to its edition and completes category-level terms; the CodiEsp
    # adapter reads the spans, texts and coded notes the dictionary learns from.
    modules = (core.candidates.linker, core.datasets.codiesp, core.nlp.textnorm, core.nlp.assertion, core.kb.bilingual,
               core.kb.neoplasm, core.kb.terms, core.kb.index, core.kb.tabular)
    return combined_key(*(Path(m.__file__).read_text() for m in modules))


_KB: dict[str, KnowledgeBase] = {}
_KB_LOCK = threading.Lock()


def _registry_key(settings: Settings) -> str:
    return "|".join(
        str(v)
        for v in (settings.data_dir, settings.cache_dir, settings.index_csv, settings.index_xml, settings.neoplasm_xml,
                  settings.codiesp_dir, settings.guidelines_pdf, settings.cie10es_file, settings.embedding_model,
                  settings.dictionary_splits)
    )


def get_knowledge(settings: Settings) -> KnowledgeBase:
    """One knowledge base per (data dir, cache dir, resource settings) per process."""
    key = _registry_key(settings)
    with _KB_LOCK:
        if key not in _KB:
            _KB[key] = KnowledgeBase(settings)
        return _KB[key]


def register_knowledge(kb: KnowledgeBase) -> KnowledgeBase:
    """Make ``get_knowledge`` answer ``kb`` for its settings (a knowledge base built with given sources: a test's,
    a tool's), replacing the one it had."""
    with _KB_LOCK:
        _KB[_registry_key(kb.settings)] = kb
    return kb
