"""SyncMemory: the same API for synchronous code, on a private event loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from daemon.memory.memory import Memory

T = TypeVar("T")


class SyncMemory:
    """``SyncMemory(memory).add(...)`` blocks until done; ``close()`` stops the loop."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="sync-memory")
        self._thread.start()
        self._run(memory.start())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.add(messages, **kwargs))

    def search(self, query: str, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.search(query, **kwargs))

    def get(self, memory_id: str) -> dict[str, Any] | None:
        return self._run(self._memory.get(memory_id))

    def get_all(self, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.get_all(**kwargs))

    def update(self, memory_id: str, data: str) -> dict[str, Any]:
        return self._run(self._memory.update(memory_id, data))

    def delete(self, memory_id: str) -> dict[str, Any]:
        return self._run(self._memory.delete(memory_id))

    def delete_all(self, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.delete_all(**kwargs))

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        return self._run(self._memory.history(memory_id))

    def reset(self) -> None:
        self._run(self._memory.reset())

    def close(self) -> None:
        try:
            self._run(self._memory.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
