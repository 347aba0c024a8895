"""A second llama-cpp-python ``Llama`` on the same loaded weights, with a context of its own.

Chat and memory extraction use the same model but different prompts: on one context each
evicts the other's cached prompt prefix (~600 tokens of few-shot examples, ~15 s to re-read
on a 2-core CPU), and two loaded copies cost the weights twice (2 x 1.27 GB for Qwen2.5-1.5B).
llama.cpp allows several contexts on one model, used from different threads; llama-cpp-python
has no public way to make one, so this builds it from the library's own internals, for the
0.3 series the project pins. ``make_sibling`` raises ``SiblingUnsupported`` when those
internals differ; the caller then loads a second copy instead.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import numpy as np


class SiblingUnsupported(Exception):
    """This llama-cpp-python version does not have the internals a sibling needs."""


def make_sibling(base: Any, n_threads: int) -> Any:
    """A ``Llama`` sharing ``base``'s model, with its own KV cache, batch and sampler state,
    running on ``n_threads`` (generation and prompt reading). ``base`` must outlive it (it owns
    the weights)."""
    try:
        import llama_cpp
        from llama_cpp import _internals as internals

        # Not copy.copy(): Llama pickles as its init arguments, so a copy loads the model again.
        other = object.__new__(type(base))
        other.__dict__.update(base.__dict__)
        other._stack = contextlib.ExitStack()
        other._ctx = other._stack.enter_context(contextlib.closing(internals.LlamaContext(
            model=base._model, params=base.context_params, verbose=False)))
        other._batch = other._stack.enter_context(contextlib.closing(internals.LlamaBatch(
            n_tokens=base.n_batch, embd=0, n_seq_max=base.context_params.n_ctx, verbose=False)))
        other._candidates = internals.LlamaTokenDataArray(n_vocab=base._n_vocab)
        other.input_ids = np.ndarray(base.input_ids.shape, dtype=np.intc)
        other.scores = np.ndarray(base.scores.shape, dtype=np.single)
        other.n_tokens = 0
        other._requires_eval = True
        other._sampler = None
        other._mirostat_mu = ctypes.c_float(2.0 * 5.0)
        other.cache = None
        other._lora_adapter = None
        other.n_threads = other.n_threads_batch = n_threads
        llama_cpp.llama_set_n_threads(other._ctx.ctx, n_threads, n_threads)
        return other
    except (ImportError, AttributeError, TypeError) as exc:
        raise SiblingUnsupported(f"{type(exc).__name__}: {exc}") from exc
