"""``Memory``: mem0's synchronous API, running an ``AsyncMemory`` on a private loop thread.

``Memory()`` uses the embedded defaults, ``Memory.from_config(dict)`` mem0's configuration
shape, ``Memory(async_memory)`` wraps one already built. The loop thread is a daemon thread and
an ``atexit`` hook closes the memory (indexes saved), so a script may end without ``close()``.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from daemon.memory.memory import AsyncMemory

T = TypeVar("T")

# How long the exit hook waits for the indexes to be saved before letting the process go.
EXIT_TIMEOUT_S = 30.0


class Memory:
    """``Memory().add(...)`` blocks until done; every method is mem0's."""

    def __init__(self, memory: AsyncMemory | None = None) -> None:
        self._memory = memory if memory is not None else AsyncMemory()
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="sync-memory")
        self._thread.start()
        self._run(self._memory.start())
        # A weak reference: the hook does not keep a dropped Memory alive.
        ref = weakref.ref(self)
        self._exit_hook = lambda: (m := ref()) is not None and m._close_at_exit()
        atexit.register(self._exit_hook)

    @classmethod
    def from_config(cls, config_dict: Mapping[str, Any]) -> Memory:
        """mem0's ``from_config`` (see ``daemon.memory.mem0_config``)."""
        return cls(AsyncMemory.from_config(config_dict))

    @property
    def async_memory(self) -> AsyncMemory:
        return self._memory

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("this Memory is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.add(messages, **kwargs))

    def search(self, query: str, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.search(query, **kwargs))

    def get(self, memory_id: str) -> dict[str, Any] | None:
        return self._run(self._memory.get(memory_id))

    def get_all(self, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.get_all(**kwargs))

    def update(self, memory_id: str, data: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.update(memory_id, data, **kwargs))

    def delete(self, memory_id: str) -> dict[str, Any]:
        return self._run(self._memory.delete(memory_id))

    def delete_all(self, **kwargs: Any) -> dict[str, Any]:
        return self._run(self._memory.delete_all(**kwargs))

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        return self._run(self._memory.history(memory_id))

    def reset(self) -> None:
        self._run(self._memory.reset())

    def close(self, timeout: float | None = None) -> None:
        if self._closed:
            return
        atexit.unregister(self._exit_hook)
        try:
            self._run(self._memory.close(), timeout)
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    def _close_at_exit(self) -> None:
        try:
            self.close(EXIT_TIMEOUT_S)
        except Exception:  # at exit there is no one left to tell; SQLite has every commit
            pass

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The name this class had before mem0 2.x naming (sync Memory, AsyncMemory).
SyncMemory = Memory
