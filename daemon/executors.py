"""Named, bounded thread pools: one kind of blocking work never waits behind another.

``asyncio.to_thread`` shares the loop's default pool: a long document embedding once held
its threads while a new device's VAD load (and every search) queued behind it. Here each kind
of work has its own small pool; the LLM, ASR and TTS keep the single threads they own.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Threads per kind. Queries: one in the model while another waits at the gate (so document
# work steps aside); documents: one (they take turns piece by piece anyway).
SIZES = {
    "embed-query": 2,  # devices' lookups
    "embed-api-query": 1,  # REST searches: never ahead of a device in a queue
    "embed-document": 1,
    "index": 1,  # HNSW load, build, save
    "voice-setup": 1,  # a new device's VAD
}

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(name: str) -> ThreadPoolExecutor:
    with _lock:
        found = _pools.get(name)
        if found is None:
            found = _pools[name] = ThreadPoolExecutor(SIZES[name], thread_name_prefix=name)
        return found


async def run(name: str, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on the named pool. Cancelling the caller does not stop a call already
    running (a thread cannot be interrupted); callers cut their work into short calls."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(name), functools.partial(fn, *args))
