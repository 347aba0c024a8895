"""Local GGUF chat model through llama-cpp-python, off the event loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.llm._prefill import chat_tokens, read_prefix
from daemon.llm._sibling import SiblingUnsupported, make_sibling
from daemon.llm._threaded import ThreadedGenerator
from daemon.llm.base import ChatMessage, LLMError

log = logging.getLogger(__name__)


@dataclass
class Usage:
    """Tokens read and written since the model was loaded (for benchmarks and logs)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class LlamaCppLLM:
    """One loaded GGUF file; calls are serialised on its own thread. ``sibling()`` gives a
    second one on the same weights with its own context and thread (chat and memory
    extraction each keep their prompt prefix cached, and run side by side)."""

    def __init__(
        self, path: Path, *, n_ctx: int = 4096, n_threads: int = 1, n_threads_batch: int = 0,
        seed: int = 0,
        use_mmap: bool = False,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise LLMError(
                "llama-cpp-python is not installed: run `pip install llama-cpp-python`"
            ) from exc
        self.name = f"llamacpp:{path.name}"
        self.path = path
        self._gen = ThreadedGenerator(path.stem)
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads_batch or n_threads,
                seed=seed,
                # Read into memory rather than mapped: measured with Qwen2.5-1.5B, a mapped
                # model kept ~600 MB more resident (1.87 vs 1.27 GB).
                use_mmap=use_mmap,
                verbose=False,
            )
        except Exception as exc:
            raise LLMError(f"could not load GGUF model {path}: {exc}") from exc
        self._n_ctx = n_ctx
        self.context_tokens = n_ctx
        self.usage = Usage()
        self._owner: LlamaCppLLM | None = None  # a sibling keeps the weights' owner alive
        self._prefilling: set[threading.Event] = set()  # one per read-ahead not yet done

    def sibling(self, *, n_threads: int | None = None) -> LlamaCppLLM:
        """Another instance on the same weights (falls back to loading them again), with
        ``n_threads`` for both generation and prompt reading (default: this one's)."""
        threads = n_threads or self._llm.n_threads
        try:
            llama = make_sibling(self._llm, threads)
        except SiblingUnsupported as exc:
            log.warning("cannot share the loaded model (%s): loading a second copy", exc)
            return LlamaCppLLM(self.path, n_ctx=self._n_ctx, n_threads=threads)
        other = object.__new__(LlamaCppLLM)
        other.name, other.path, other._n_ctx = self.name, self.path, self._n_ctx
        other.context_tokens = self._n_ctx
        other._gen = ThreadedGenerator(f"{self.path.stem}-2")
        other._llm = llama
        other.usage = Usage()
        other._owner = self
        other._prefilling = set()
        return other

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (the vocabulary is read-only: safe beside a running call)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _fit(self, messages: Sequence[ChatMessage], max_tokens: int) -> list[dict[str, str]]:
        """Drop the oldest non-system turns until the prompt leaves room for the answer."""
        msgs = [dict(m) for m in messages]
        budget = self._n_ctx - max_tokens - 16
        while len(msgs) > 2:
            text = "\n".join(m["content"] for m in msgs)
            if len(self._llm.tokenize(text.encode("utf-8"), add_bos=False)) + 8 * len(msgs) <= budget:
                break
            del msgs[1]
        return msgs

    def _chunks(
        self,
        stop: threading.Event,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        response_format: dict[str, Any] | None,
    ) -> Iterator[str]:
        fitted = self._fit(messages, max_tokens)
        self.usage.prompt_tokens += len(self._llm.tokenize(
            "\n".join(m["content"] for m in fitted).encode("utf-8"), add_bos=False))
        stream = self._llm.create_chat_completion(
            messages=fitted,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=temperature,
            stream=True,
            response_format=response_format,  # type: ignore[arg-type]
        )
        try:
            for chunk in stream:
                if stop.is_set():
                    break
                delta = chunk["choices"][0].get("delta", {})  # type: ignore[index]
                piece = delta.get("content")
                if piece:
                    self.usage.completion_tokens += 1  # one streamed chunk is one token
                    yield piece
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()

    async def prefill(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> int:
        """Read the opening of a later prompt into the context now (``daemon.llm._prefill``),
        fitted as that prompt will be for ``max_tokens`` of answer. A real call that comes
        meanwhile stops it between two small chunks. Returns the tokens read."""
        stop = threading.Event()  # set: a real call is waiting
        self._prefilling.add(stop)

        def run() -> int:
            if stop.is_set():
                return 0
            tokens = chat_tokens(self._llm, self._fit(messages, max_tokens))
            return 0 if tokens is None else read_prefix(self._llm, tokens, stop)

        try:
            read = await self._gen.call(run)
            return read if isinstance(read, int) else 0
        finally:
            self._prefilling.discard(stop)

    def stop_prefills(self) -> None:
        for stop in self._prefilling:
            stop.set()

    def _before_call(self) -> None:
        self.stop_prefills()

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> AsyncIterator[str]:
        self._before_call()
        async for piece in self._gen.stream(
            lambda stop: self._chunks(stop, messages, max_tokens, temperature, None),
            timeout_s=timeout_s,
        ):
            yield piece

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str:
        self._before_call()
        fmt = {"type": "json_object", "schema": schema}
        parts: list[str] = []
        async for piece in self._gen.stream(
            lambda stop: self._chunks(stop, messages, max_tokens, 0.0, fmt),
            timeout_s=timeout_s,
        ):
            parts.append(piece)
        text = "".join(parts)
        log.debug("json completion (%d chars): %s", len(text), text[:500])
        return text

    async def close(self) -> None:
        self._before_call()  # a read-ahead in progress stops after its chunk
        self._gen.shutdown()

