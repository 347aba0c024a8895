"""Run a blocking token generator on a worker thread and stream it into asyncio.

Local models are not thread-safe and block for seconds, so each model instance gets one
thread of its own; the event loop only ever waits on a queue. Closing the async iterator (an
abort, or a timeout) sets a flag the generator checks between tokens.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from daemon.llm.base import LLMError, LLMTimeout

_DONE = object()


class ThreadedGenerator:
    """Serialises generations on one thread; streams pieces back to the caller's loop."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llm-{name}")

    async def stream(
        self,
        make: Callable[[threading.Event], Iterator[str]],
        *,
        timeout_s: float,
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        deadline = time.monotonic() + timeout_s

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                for piece in make(stop):
                    if stop.is_set():
                        break
                    put(piece)
                    if time.monotonic() > deadline:
                        put(LLMTimeout(f"generation passed its {timeout_s:.0f} s budget"))
                        return
                put(_DONE)
            except BaseException as exc:
                put(exc)

        future = loop.run_in_executor(self._pool, run)
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=max(remaining, 0.01) + 5)
                except asyncio.TimeoutError as exc:
                    raise LLMTimeout(f"no output within {timeout_s:.0f} s") from exc
                if item is _DONE:
                    break
                if isinstance(item, LLMError):
                    raise item
                if isinstance(item, BaseException):
                    raise LLMError(f"{type(item).__name__}: {item}") from item
                assert isinstance(item, str)
                yield item
        finally:
            stop.set()
            # Wait for the thread to notice so the next call never overlaps this one.
            await asyncio.shield(future)

    async def call(self, fn: Callable[[], object]) -> object:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
