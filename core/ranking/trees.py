"""The ranker's fold models, predicted with numpy in one pass over every tree.

scikit-learn's ``HistGradientBoostingClassifier.predict_proba`` validates the input, then calls a compiled routine
once per tree: for the ranker's five fold models (about 500 trees) and the few dozen rows of a note, those calls
are most of the time (about 9 ms a note). Here all trees are flattened into one node table and every (row, tree)
pair descends it together, one level per step. The leaf values are then added per model in tree order, starting
from the model's baseline, as scikit-learn adds them, so the probabilities are bit-for-bit the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit


@dataclass(frozen=True)
class CompiledForest:
    """Binary HistGradientBoosting models flattened into node arrays. A leaf points to itself, so descending as
    many levels as a tree is deep leaves every row on one of its leaves; the trees are kept deepest first, so each
    level descends a prefix of them."""

    feature: np.ndarray  # per node: the feature compared (0 at leaves)
    threshold: np.ndarray  # per node: go left when the value is <= this
    missing_left: np.ndarray  # per node: where a missing value (NaN) goes
    children: np.ndarray  # per node, two entries: the right then the left child's index (itself at leaves)
    value: np.ndarray  # per node: the leaf value (0 at split nodes)
    roots: np.ndarray  # per tree, deepest first: index of its root node
    active: tuple[int, ...]  # per level: how many trees (the first ones of ``roots``) are deeper than that level
    order: np.ndarray  # per tree in model order, then iteration order: its position in ``roots``
    model_ends: tuple[int, ...]  # per model: the end of its trees in ``order``
    baselines: tuple[float, ...]  # per model: its baseline raw prediction

    @classmethod
    def compile(cls, models: Sequence[object]) -> CompiledForest | None:
        """The flattened form of fitted binary ``HistGradientBoostingClassifier`` models; None when one of them is
        something this form does not reproduce (categorical splits, several trees per iteration)."""
        tables: list[np.ndarray] = []
        roots: list[int] = []
        depths: list[int] = []
        model_ends: list[int] = []
        baselines: list[float] = []
        offset = 0
        for model in models:
            predictors = getattr(model, "_predictors", None)
            baseline = np.asarray(getattr(model, "_baseline_prediction", np.zeros(0)))
            if predictors is None or getattr(model, "n_trees_per_iteration_", 0) != 1 or baseline.size != 1:
                return None
            for (predictor,) in predictors:
                nodes = predictor.nodes
                if nodes["is_categorical"].any():
                    return None
                tables.append(nodes)
                roots.append(offset)
                depths.append(int(nodes["depth"].max()))
                offset += len(nodes)
            model_ends.append(len(roots))
            baselines.append(float(baseline.ravel()[0]))
        if not tables:
            return None
        nodes = np.concatenate(tables)
        starts = np.repeat(np.array(roots, dtype=np.intp), [len(t) for t in tables])
        leaf = nodes["is_leaf"].astype(bool)
        own = np.arange(len(nodes), dtype=np.intp)
        deepest_first = np.argsort(-np.array(depths), kind="stable")
        sorted_depths = np.array(depths)[deepest_first]
        return cls(
            feature=np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp),
            threshold=nodes["num_threshold"].astype(np.float64),
            missing_left=nodes["missing_go_to_left"].astype(bool),
            children=np.column_stack([np.where(leaf, own, starts + nodes["right"]),
                                      np.where(leaf, own, starts + nodes["left"])]).ravel(),
            value=np.where(leaf, nodes["value"], 0.0),
            roots=np.array(roots, dtype=np.intp)[deepest_first],
            active=tuple(int((sorted_depths > level).sum()) for level in range(int(sorted_depths[0]))),
            order=np.argsort(deepest_first),
            model_ends=tuple(model_ends),
            baselines=tuple(baselines),
        )

    def predict_proba(self, x: np.ndarray) -> list[np.ndarray]:
        """Per model, what its ``predict_proba(x)`` returns: (n_rows, 2) class probabilities."""
        x = np.asarray(x, dtype=np.float64)  # scikit-learn compares in float64 too
        n_rows, n_features = x.shape
        node = np.repeat(self.roots[:, None], n_rows, axis=1)  # (tree, row)
        row_start = np.arange(n_rows, dtype=np.intp) * n_features
        flat = x.ravel()
        has_missing = bool(np.isnan(flat).any())
        for count in self.active:
            at = node[:count]
            values = flat[row_start + self.feature[at]]
            go_left = values <= self.threshold[at]
            if has_missing:
                go_left = np.where(np.isnan(values), self.missing_left[at], go_left)
            node[:count] = self.children[2 * at + go_left]
        leaves = self.value[node[self.order]].T  # (row, tree in model order)
        probabilities = []
        start = 0
        for end, baseline in zip(self.model_ends, self.baselines, strict=True):
            # scikit-learn's running sum: baseline, then each tree's leaf value in iteration order.
            terms = np.empty((n_rows, end - start + 1))
            terms[:, 0] = baseline
            terms[:, 1:] = leaves[:, start:end]
            raw = np.add.accumulate(terms, axis=1)[:, -1]
            proba = np.empty((n_rows, 2))
            proba[:, 1] = expit(raw)
            proba[:, 0] = 1 - proba[:, 1]
            probabilities.append(proba)
            start = end
        return probabilities
