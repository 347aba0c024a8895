"""Give freed heap memory back to the system now and then (glibc only).

A burst of large inputs (1 MB request bodies, long texts being embedded) leaves freed memory
in malloc's arenas, counted in RSS until something reuses it; ``malloc_trim`` returns it.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


async def trim_loop(interval_s: float = 30.0) -> None:
    trim = _malloc_trim()
    if trim is None:
        return
    while True:
        await asyncio.sleep(interval_s)
        trim(0)  # takes milliseconds: not worth a thread
