"""Supervised ranker over candidate (code, evidence) pairs, trained on coded notes.

A document-level classifier has too few examples per code (about 0.10 F1 on CodiEsp dev), so the signal comes
from the mentions: how a candidate was found (dictionary source, calibrated term statistics, ambiguity), its
context (assertion), and how often coders used the code. A gradient-boosted model turns these into a
probability; the codes / candidates split uses thresholds tuned on out-of-fold predictions of the training
notes. Codes it never saw still reach the output through the open-set path (index, tabular, learned terms),
because the features describe the evidence, not the code identity.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from core.candidates.linker import DictionaryLinker
from core.candidates.navigator import is_vague
from core.kb.cache import gc_paused
from core.kb.tabular import Tabular
from core.nlp.analysis import NoteAnalysis, TermMatch, analyze
from core.nlp.assertion import never_coded
from core.nlp.laterality import sided_code
from core.nlp.status_codes import STATUS_FILE, STATUS_SOURCE
from core.ranking.trees import CompiledForest
from core.schema import Span

RANKER_VERSION = "9"
F1_TOLERANCE = 0.003  # out-of-fold F1 differences below this do not choose between thresholds
# Below the code threshold but this likely: listed for review. Fixed rather than a share of the tuned thresholds,
# so the review list (and the MAP read from it) does not move when the thresholds do.
CANDIDATE_THRESHOLD = 0.1
READ_FROM_NUMBERS = ("Z3A.", "Z68.")  # categories whose code a number decides (status rules)
STATUS_PRIOR = 0.5  # score of a status-code rule's candidate (no term statistics: the ranker learns its worth)
SOURCES = ("codiesp", "index", "tabular", "cie", "learned", "coded-notes", "translated", "neoplasm", "sided",
           "completed", "status")
FEATURES = (
    "score_max", "score_sum", "n_mentions", "n_keys", "key_docs", "rank_min", "n_alternatives",
    *(f"src_{s}" for s in SOURCES),
    "key_len", "span_len", "present", "negated_all", "possible", "historical", "family", "shadowed_only", "side_named",
    "code_freq", "category_freq", "billable", "first_pos", "code_len",
    # What the conventions step will do with the code: a vague code beside a more specific one of its category is
    # absorbed; a combination code ("... with ...", "... due to ...") absorbs its parts.
    "vague", "specific_sibling", "combination",
)
COMBINATION_TITLE = re.compile(r"\b(?:with|due to|associated with|in diseases classified elsewhere)\b")
Note = tuple[str, str, set[str]]  # case id, text, gold codes


@dataclass
class Candidate:
    code: str
    features: dict[str, float]
    evidence: list[Span]
    terms: list[str]
    assertions: list[str]


@dataclass
class CodePriors:
    code_counts: Counter[str] = field(default_factory=Counter)
    category_counts: Counter[str] = field(default_factory=Counter)
    n_notes: int = 0

    @classmethod
    def from_notes(cls, notes: Iterable[Note]) -> CodePriors:
        priors = cls()
        for _, _, gold in notes:
            priors.n_notes += 1
            priors.code_counts.update(gold)
            priors.category_counts.update({g[:3] for g in gold})
        return priors


def _source_flags(provenance: str) -> set[str]:
    flags = set()
    for part in provenance.split("+"):
        for name in SOURCES:
            if (part.startswith(name) or (name == "coded-notes" and part == "learned-from-coded-notes")
                    or (name == "translated" and part.endswith("-translated"))):
                flags.add(name)
    return flags


def extract_candidates(
    analysis: NoteAnalysis,
    linker: DictionaryLinker,
    tabular: Tabular,
    priors: CodePriors,
    *,
    max_codes_per_mention: int = 3,
) -> list[Candidate]:
    """One row per candidate code of the note, aggregated over its mentions (the analysis's dictionary matches, with
    their assertion and side, and its status readings)."""
    text = analysis.text
    rows: dict[str, Candidate] = {}
    length = max(len(text), 1)
    # Counts per 100 training notes: the out-of-fold models (tuned on 4/5 of the notes) and the final one read
    # the same scale.
    per_note = 100.0 / max(priors.n_notes, 1)
    shadowed: dict[str, bool] = {}  # code -> every mention lost to a longer overlapping match
    sided: dict[tuple[str, str], str] = {}
    completed: dict[tuple[str, str], str] = {}
    for match, scored, docs in _mentions(analysis, linker, max_codes_per_mention):
        assertion, side = match.assertion, match.side
        candidates = [(code, score, provenance, rank) for rank, (code, score, provenance) in enumerate(scored)]
        if side:  # the side named next to the mention picks the sided sibling of each code ("OD" → ...1)
            for code, score, _, rank in list(candidates):
                if (code, side) not in sided:
                    sided[(code, side)] = sided_code(code, side, tabular)
                other = sided[(code, side)]
                if other and other != code and all(other != c[0] for c in candidates):
                    candidates.append((other, score, "sided", rank))
        for code, score, _, rank in list(candidates):
            # A category-level term (WHO Spanish descriptions, incomplete index codes: "infarto cerebral" → I63)
            # also proposes the code a coder would complete it to (I63.9), the side named if any.
            if tabular.is_billable(code):
                continue
            if (code, side) not in completed:
                completed[(code, side)] = tabular.unspecified_code(code, side)
            other = completed[(code, side)]
            if other and other != code and all(other != c[0] for c in candidates):
                candidates.append((other, score, "completed", rank))
        for code, score, provenance, rank in candidates:
            row = rows.get(code)
            if row is None:
                code_count = priors.code_counts.get(code, 0)
                category_count = priors.category_counts.get(code[:3], 0)
                row = rows[code] = Candidate(code, {name: 0.0 for name in FEATURES}, [], [], [])
                f = row.features
                f.update(code_freq=math.log1p(per_note * max(code_count, 0)),
                         category_freq=math.log1p(per_note * max(category_count, 0)),
                         billable=float(tabular.is_billable(code)), first_pos=match.start / length,
                         code_len=float(len(code.replace(".", ""))), rank_min=float(rank))
            f = row.features
            f["score_max"] = max(f["score_max"], score)
            f["score_sum"] += score
            f["n_mentions"] += 1
            f["rank_min"] = min(f["rank_min"], float(rank))
            # Counts mentions, as it always has: the distinct-term test it replaces compared a key with a term
            # string's characters and never matched, while costing O(mentions²) per code. A true distinct-term
            # count changes the model and is left for a measured change.
            f["n_keys"] += 1
            f["key_docs"] = max(f["key_docs"], math.log1p(per_note * max(docs, 0)))
            f["n_alternatives"] = max(f["n_alternatives"], float(len(scored)))
            for flag in _source_flags(provenance):
                f[f"src_{flag}"] = 1.0
            f["key_len"] = max(f["key_len"], float(len(match.key)))
            f["span_len"] = max(f["span_len"], float(match.end - match.start))
            f["present"] = max(f["present"], float(assertion in ("present", "historical")))
            f["possible"] = max(f["possible"], float(assertion == "possible"))
            f["historical"] = max(f["historical"], float(assertion == "historical"))
            f["family"] = max(f["family"], float(assertion == "family"))
            f["side_named"] = max(f["side_named"], float(bool(side)))
            shadowed[code] = shadowed.get(code, True) and match.shadowed
            row.evidence.append(Span(start=match.start, end=match.end, text=text[match.start : match.end]))
            # A status rule has no term: the words it read stand in ("status rule: semana 35 de gestación").
            status = match.key[0] == STATUS_SOURCE
            row.terms.append(f"status rule: {text[match.start:match.end]}" if status else " ".join(match.key))
            row.assertions.append(assertion)
    for row in rows.values():
        row.features["negated_all"] = float(all(a == "negated" for a in row.assertions))
        row.features["shadowed_only"] = float(shadowed[row.code])
    _convention_features(rows, tabular)
    return list(rows.values())


def _convention_features(rows: dict[str, Candidate], tabular: Tabular) -> None:
    vague = {code: is_vague(code, tabular) for code in rows}
    specific_categories = {code[:3] for code, is_vague_code in vague.items() if not is_vague_code}
    for code, row in rows.items():
        title = tabular.description(code).lower()
        row.features["vague"] = float(vague[code])
        row.features["specific_sibling"] = float(vague[code] and code[:3] in specific_categories)
        row.features["combination"] = float(bool(COMBINATION_TITLE.search(title.replace("without", ""))))


def _mentions(
    analysis: NoteAnalysis, linker: DictionaryLinker, max_codes: int
) -> Iterator[tuple[TermMatch, list[tuple[str, float, str]], int]]:
    """(match, scored codes, notes containing its term) for the analysis's matches, then the status-code rules'."""
    for match in analysis.matches:
        # Weeks of gestation and BMI codes come from the number the status rules read, never from the words
        # around it ("semanas de gestación" was annotated Z3A.20 in one note, Z3A.39 in another).
        scored = [s for s in linker.scored_codes(match.key) if not s[0].startswith(READ_FROM_NUMBERS)][:max_codes]
        if scored:
            yield match, scored, linker.key_counts(match.key)
    for found in analysis.status:
        assertion, cue = analysis.assertion_of(found.start, found.end)
        match = TermMatch(found.start, found.end, (STATUS_SOURCE, found.code), gapped=False, shadowed=False,
                          assertion=assertion, cue=cue, side="", section=analysis.section_at(found.start).kind)
        yield match, [(found.code, STATUS_PRIOR, STATUS_SOURCE)], 0


def unseen_in_training(row: Candidate) -> bool:
    """The code was never assigned in the training notes (it reached the note through the open-set path)."""
    return row.features["code_freq"] == 0



@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's thread pools, found once: looking them up scans every loaded library (~5 ms a note)."""
    return ThreadpoolController()


def _matrix(rows: list[Candidate]) -> np.ndarray:
    return np.array([[r.features[name] for name in FEATURES] for r in rows], dtype=np.float32)


def _best_thresholds(
    probabilities: np.ndarray, labels: np.ndarray, unseen: np.ndarray, missing_gold: int,
    never_coded: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(threshold for codes seen in training, threshold for unseen codes, micro-F1), maximising micro-F1.

    Gold codes without any candidate count as misses, and so do rows the assertion policy never codes
    (``never_coded``: every mention negated, family or hypothetical), whatever their score. Unseen codes get their
    own threshold: one shared threshold lets the many confident seen codes set it, and the open-set path then
    never reaches the output.
    """
    grid = np.round(np.arange(0.05, 0.95, 0.01), 2)
    total_gold = int(labels.sum()) + missing_gold
    shown = np.ones(len(labels), dtype=bool) if never_coded is None else ~never_coded

    def counts(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = mask & shown
        chosen = probabilities[mask][None, :] >= grid[:, None]
        positive = labels[mask] == 1
        return (chosen & positive).sum(axis=1), (chosen & ~positive).sum(axis=1)

    tp_seen, fp_seen = counts(~unseen)
    tp_unseen, fp_unseen = counts(unseen)
    tp = tp_seen[:, None] + tp_unseen[None, :]
    fp = fp_seen[:, None] + fp_unseen[None, :]
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + (total_gold - tp), 1), 0.0)
    best = float(f1.max())
    if best <= 0:
        return 0.5, 0.5, 0.0
    # The out-of-fold curve is flat near its top (±0.001 between 0.30 and 0.42 on CodiEsp), so its highest point
    # is chance. Among the pairs as good as the best, take the one that shows the coder the most codes: a wrong
    # code is rejected in one click, a missing one has to be found in the note.
    codes_shown = np.where(f1 >= best - F1_TOLERANCE, tp + fp, -1)
    i, j = np.unravel_index(int(np.argmax(codes_shown)), codes_shown.shape)
    return float(grid[i]), float(grid[j]), float(f1[i, j])


@dataclass
class RankerModel:
    language: str
    model: object
    priors: CodePriors
    code_threshold: float  # tuned for the product's assertion policy ("coding")
    candidate_threshold: float
    open_set_threshold: float  # code threshold for codes never assigned in the training notes
    fingerprint: str  # all training notes, decision-store feedback included
    base_fingerprint: str  # the coded corpus notes only (decides whether a cached model is stale)
    trained_on: list[str]
    metrics: dict[str, float]
    version: str = RANKER_VERSION
    linker_key: str = ""  # cache key of the dictionary linker whose candidates it was trained on
    code_version: str = ""  # feature_code_version() of the code that computed its features
    # (code, open-set) thresholds tuned for other assertion policies: under "codiesp" negated mentions are coded too
    policy_thresholds: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"ranker-{self.language}-v{self.version}-{self.fingerprint[:10]}"

    def thresholds(self, policy: str = "coding") -> tuple[float, float]:
        """(code threshold, open-set threshold) tuned for the assertion policy the codes are decided under."""
        return self.policy_thresholds.get(policy, (self.code_threshold, self.open_set_threshold))

    def threshold_for(self, row: Candidate, policy: str = "coding") -> float:
        """The code threshold of the row's group: seen in training, or open-set (never assigned there)."""
        seen, open_set = self.thresholds(policy)
        return open_set if unseen_in_training(row) else seen

    def score(self, rows: list[Candidate]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        if isinstance(self.model, _AveragedModel):
            return self.model.predict_proba(_matrix(rows))[:, 1]
        # One thread: a few hundred rows gain nothing from OpenMP, and on a busy 2-core machine its spinning threads
        # made one note's scoring take seconds instead of milliseconds.
        with _threadpools().limit(limits=1):
            return self.model.predict_proba(_matrix(rows))[:, 1]

    def save(self, path: Path) -> Path:
        """Write the model whole, then rename it into place: an interrupted save leaves the old file intact."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".pkl.partial")
        with partial.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
        path.with_suffix(".json").write_text(json.dumps(self.describe(), indent=2))
        return path

    @staticmethod
    def load(path: Path) -> RankerModel:
        with path.open("rb") as handle, gc_paused():
            try:
                model = pickle.load(handle)
            except (pickle.UnpicklingError, AttributeError, ImportError, IndexError, TypeError) as exc:
                # Written by another version of this code (a class it names is gone) or cut short.
                raise ValueError(f"{path} cannot be read by this version of the code: {exc}") from exc
        if not isinstance(model, RankerModel) or model.version != RANKER_VERSION:
            raise ValueError(f"{path} is not a ranker model of version {RANKER_VERSION}")
        return model

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "language": self.language, "trained_on": self.trained_on,
                "fingerprint": self.fingerprint, "code_threshold": self.code_threshold,
                "open_set_threshold": self.open_set_threshold, "policy_thresholds": self.policy_thresholds,
                "candidate_threshold": self.candidate_threshold, "metrics": self.metrics, "features": list(FEATURES)}


def feature_code_version() -> str:
    """Hash of the code and data that compute the features: a model trained by other code is stale, whatever its
    version."""
    import core.candidates.navigator
    import core.kb.tabular
    import core.nlp.abbreviation_list
    import core.nlp.abbreviations
    import core.nlp.analysis
    import core.nlp.assertion
    import core.nlp.laterality
    import core.nlp.sentences
    import core.nlp.status_codes

    modules = (core.candidates.navigator, core.nlp.laterality, core.kb.tabular, core.nlp.status_codes, core.nlp.assertion, core.nlp.sentences,
               core.nlp.analysis, core.nlp.abbreviations, core.nlp.abbreviation_list)
    sources = (Path(__file__), STATUS_FILE, *(Path(m.__file__) for m in modules),
               *sorted(core.nlp.abbreviation_list.DATA_DIR.glob("*.tsv")))
    sources = tuple(path for path in sources if path.is_file())
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]


def notes_fingerprint(notes: list[Note]) -> str:
    digest = hashlib.sha256(RANKER_VERSION.encode())
    for case_id, text, gold in notes:
        digest.update(f"{case_id}\t{hashlib.sha256(text.encode()).hexdigest()}\t{','.join(sorted(gold))}\n".encode())
    return digest.hexdigest()


def train_ranker(
    notes: list[Note],
    linker: DictionaryLinker,
    tabular: Tabular,
    *,
    label: str,
    extra_notes: list[Note] | None = None,
    folds: int = 5,
    seed: int = 13,
) -> RankerModel:
    """Fit on coded notes (leave-one-out features), tune thresholds on out-of-fold predictions."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    started = time.perf_counter()
    all_notes = [*notes, *(extra_notes or [])]
    priors = CodePriors.from_notes(all_notes)
    rows: list[Candidate] = []
    labels: list[int] = []
    groups: list[int] = []
    missing_gold = 0
    n_folds = max(2, min(folds, len(all_notes)))
    # Out-of-fold features: the term statistics and code priors a note sees never include that note's own codes,
    # otherwise the model learns the leave-one-out artefact instead of the evidence.
    for fold in range(n_folds):
        others = [note for i, note in enumerate(all_notes) if i % n_folds != fold]
        held_out = {case_id for i, (case_id, _, _) in enumerate(all_notes) if i % n_folds == fold}
        fold_linker = linker.without_cases(held_out).refitted(others, label=f"fold {fold}")
        fold_priors = CodePriors.from_notes(others)
        for number, (_, text, gold) in enumerate(all_notes):
            if number % n_folds != fold:
                continue
            # Terms annotated in any held-out note are hidden, as a new note's own spans are at run time.
            candidates = extract_candidates(analyze(text, fold_linker.language, fold_linker), fold_linker,
                                            tabular, fold_priors)
            rows.extend(candidates)
            labels.extend(int(c.code in gold) for c in candidates)
            groups.extend([fold] * len(candidates))
            missing_gold += len(gold - {c.code for c in candidates})
    x, y, g = _matrix(rows), np.array(labels), np.array(groups)

    def make_model() -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08, max_leaf_nodes=15,
                                              l2_regularization=1.0, random_state=seed)

    out_of_fold = np.zeros(len(y))
    fold_models: list[HistGradientBoostingClassifier] = []
    if len(set(y)) > 1 and len(all_notes) >= 2:
        for train_idx, test_idx in GroupKFold(n_splits=n_folds).split(x, y, g):
            if len(set(y[train_idx])) < 2:
                continue
            fold_model = make_model().fit(x[train_idx], y[train_idx])
            out_of_fold[test_idx] = fold_model.predict_proba(x[test_idx])[:, 1]
            fold_models.append(fold_model)
    unseen = x[:, FEATURES.index("code_freq")] == 0
    # Tuned under the policy the product codes with: rows it never codes are misses at any threshold.
    not_coded = np.array([never_coded(row.assertions) for row in rows], dtype=bool)
    threshold, open_set_threshold, oof_f1 = _best_thresholds(out_of_fold, y, unseen, missing_gold, not_coded)
    codiesp_threshold, codiesp_open_set, codiesp_f1 = _best_thresholds(out_of_fold, y, unseen, missing_gold)
    # The fold models, averaged, are the model: its scores are on the scale the thresholds were tuned on
    # (a model refitted on every note is more confident than the out-of-fold ones it was tuned with).
    model: object
    if len(fold_models) == n_folds:
        model = _AveragedModel(fold_models)
    elif len(set(y)) > 1:
        model = make_model().fit(x, y)
    else:
        model = _ConstantModel(float(y.mean()) if len(y) else 0.0)
    return RankerModel(
        language=linker.language,
        model=model,
        priors=priors,
        code_threshold=threshold,
        open_set_threshold=open_set_threshold,
        candidate_threshold=min(CANDIDATE_THRESHOLD, threshold, open_set_threshold, codiesp_threshold, codiesp_open_set),
        fingerprint=notes_fingerprint(all_notes),
        base_fingerprint=notes_fingerprint(notes),
        trained_on=[label] + (["decision-store"] if extra_notes else []),
        linker_key=getattr(linker, "cache_key", ""),
        code_version=feature_code_version(),
        policy_thresholds={"codiesp": (codiesp_threshold, codiesp_open_set)},
        metrics={"out_of_fold_micro_f1": round(oof_f1, 4), "out_of_fold_micro_f1_codiesp": round(codiesp_f1, 4),
                 "rows": len(y), "positives": int(y.sum()),
                 "notes": len(all_notes), "train_s": round(time.perf_counter() - started, 2)},
    )


@dataclass
class _AveragedModel:
    models: list[object]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        forest = self._forest()
        if forest is None:
            with _threadpools().limit(limits=1):
                return np.mean([m.predict_proba(x) for m in self.models], axis=0)
        return np.mean(forest.predict_proba(x), axis=0)

    def _forest(self) -> CompiledForest | None:
        """The fold models flattened for numpy (compiled on first use, never pickled): the same probabilities as
        their own ``predict_proba`` at a fraction of its per-tree overhead."""
        if "_compiled" not in self.__dict__:
            self.__dict__["_compiled"] = CompiledForest.compile(self.models)
        return self.__dict__["_compiled"]

    def __getstate__(self) -> dict[str, object]:
        return {"models": self.models}


@dataclass
class _ConstantModel:
    probability: float

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.full(len(x), 1 - self.probability), np.full(len(x), self.probability)])
