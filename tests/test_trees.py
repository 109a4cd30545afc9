"""The ranker's fold models predicted with numpy give scikit-learn's probabilities bit for bit."""

import pickle

import numpy as np
import pytest

from core.ranking.ranker import _AveragedModel
from core.ranking.trees import CompiledForest

sklearn = pytest.importorskip("sklearn.ensemble")


def _fold_models(x: np.ndarray, y: np.ndarray, n: int = 3) -> list:
    return [sklearn.HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, random_state=seed).fit(x, y)
            for seed in range(n)]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values go where training sent them
    y = ((np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) * x[:, 2].clip(0, None) > 0.3) ^ (rng.random(600) < 0.1))
    return x, y.astype(int)


def test_same_probabilities_as_scikit_learn(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    models = _fold_models(x, y)
    forest = CompiledForest.compile(models)
    assert forest is not None
    probe = np.vstack([x[:200], np.full((1, x.shape[1]), np.nan, dtype=np.float32), x[:1] * 1e6])
    for model, proba in zip(models, forest.predict_proba(probe), strict=True):
        assert np.array_equal(model.predict_proba(probe), proba)
    without_missing = np.nan_to_num(x[:50])
    averaged = _AveragedModel(models)
    assert np.array_equal(averaged.predict_proba(without_missing),
                          np.mean([m.predict_proba(without_missing) for m in models], axis=0))


def test_compiled_form_is_not_pickled(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    averaged = _AveragedModel(_fold_models(x, y, n=2))
    before = averaged.predict_proba(x[:20])
    restored = pickle.loads(pickle.dumps(averaged))
    assert "_compiled" not in restored.__dict__
    assert np.array_equal(restored.predict_proba(x[:20]), before)


def test_categorical_models_are_left_to_scikit_learn(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    x = np.nan_to_num(x)
    x[:, 0] = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0)
    model = sklearn.HistGradientBoostingClassifier(max_iter=10, categorical_features=[0], random_state=0).fit(x, y)
    assert CompiledForest.compile([model]) is None
    averaged = _AveragedModel([model])
    assert np.array_equal(averaged.predict_proba(x[:30]), model.predict_proba(x[:30]))
