"""Pacer: sends audio frames at the speed they play. The first ``prebuffer`` frames go at once
(the device starts playing without waiting on the network), then one frame per frame duration,
on an absolute schedule so sleeps never add up to drift. If the sender falls behind by more
than the pre-buffer (the device has run dry, e.g. between two sentences), the schedule restarts
with a fresh pre-buffer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["Pacer"]


class Pacer:
    def __init__(
        self, send: Callable[[bytes], Awaitable[None]], frame_s: float, prebuffer: int = 3,
        *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send = send
        self.frame_s = frame_s
        self.prebuffer = prebuffer
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._count = 0  # frames sent since the schedule started
        self.sent = 0
        self.restarts = 0

    def _due(self, k: int) -> float:
        assert self._start is not None
        return self._start + max(0, k - self.prebuffer) * self.frame_s

    async def send(self, frame: bytes) -> None:
        now = self._clock()
        if self._start is None or now - self._due(self._count) > max(self.prebuffer, 1) * self.frame_s:
            if self._start is not None:
                self.restarts += 1
            self._start, self._count = now, 0
        due = self._due(self._count)
        if due > now:
            await self._sleep(due - now)
        await self._send(frame)
        self._count += 1
        self.sent += 1

    def remaining_s(self) -> float:
        """How long the device still has to play what was sent."""
        if self._start is None:
            return 0.0
        end = self._start + self._count * self.frame_s
        return max(0.0, end - self._clock())
