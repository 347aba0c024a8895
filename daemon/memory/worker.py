"""MemoryWorker: runs queued extraction jobs in the background, after the turn.

The queue is the ``jobs`` table, so it survives restarts; a job's effects and its completion
commit in one transaction, so a crash re-runs it at most once and never half-applies it.
Jobs of one user run in order, one at a time; different users run side by side. A failing job
is retried with doubling backoff, then parked with its error, never blocking the others.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from daemon.memory.memory import AsyncMemory
from daemon.memory.store import JOB_EXTRACT, Scope, now_iso

log = logging.getLogger(__name__)

class MemoryWorker:
    def __init__(
        self, memory: AsyncMemory, *, concurrency: int = 2, max_attempts: int = 5,
        backoff_s: float = 5.0, poll_s: float = 1.0,
    ) -> None:
        self.memory = memory
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._stale = False  # a job's failure could not be written: requeue it when possible
        self._running: dict[int, tuple[str | None, asyncio.Task[None]]] = {}
        self._main: asyncio.Task[None] | None = None
        self.completed = 0
        self.failed = 0
        self.stopped_by_forget = 0
        memory.on_forget.append(self._forgotten)

    @staticmethod
    def payload(
        messages: list[dict[str, Any]], *, user_id: str | None, agent_id: str | None = None,
        run_id: str | None = None, metadata: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        """A job's payload; ``at``: when it was said (ISO; relative dates resolve against it)."""
        return {"messages": messages, "user_id": user_id, "agent_id": agent_id,
                "run_id": run_id, "metadata": metadata or {}, "at": at}

    def notify(self) -> None:
        """A job was queued by someone else (in the same database): look now."""
        self._wake.set()

    async def enqueue(
        self, messages: list[dict[str, Any]], *, user_id: str | None,
        agent_id: str | None = None, run_id: str | None = None,
        metadata: dict[str, Any] | None = None, at: str | None = None,
    ) -> int:
        payload = self.payload(messages, user_id=user_id, agent_id=agent_id, run_id=run_id,
                               metadata=metadata, at=at or now_iso())
        job_id = await self.memory.store.enqueue(JOB_EXTRACT, user_id, payload)
        self._wake.set()
        return job_id

    def wake(self) -> None:
        """Look for due jobs now (after a retry was requested)."""
        self._wake.set()

    async def start(self) -> None:
        requeued = await self.memory.store.requeue_running()
        if requeued:
            log.info("requeued %d job(s) interrupted by the last shutdown", requeued)
        self._stopping = False
        self._main = asyncio.create_task(self._loop(), name="memory-worker")

    async def stop(self) -> None:
        # The flag, not only cancel(): on Python < 3.12 wait_for() can swallow a cancellation
        # that lands just as the event it waits for is set, and the loop would run on.
        self._stopping = True
        self._wake.set()
        if self._main:
            self._main.cancel()
            try:
                await self._main
            except asyncio.CancelledError:
                pass
        for _, task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*(t for _, t in self._running.values()), return_exceptions=True)
        # Jobs cancelled mid-way are still 'running' in the table: back to pending now.
        await self.memory.store.requeue_running()

    async def wait_idle(self, timeout: float = 60.0) -> bool:
        """Until no job is pending (even one waiting out a retry delay) or running; parked
        jobs do not count. False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self._running and not await self.memory.store.jobs(("pending", "running"), 1):
                return True
            self._wake.set()
            await asyncio.sleep(0.05)
        return False

    async def _loop(self) -> None:
        while not self._stopping:
            if self._stale:
                try:
                    await self.memory.store.requeue_running(keep=list(self._running))
                    self._stale = False
                except Exception:
                    log.debug("jobs still cannot be requeued", exc_info=True)
            try:
                while len(self._running) < self.concurrency:
                    busy = [u for u, _ in self._running.values()]
                    job = await self.memory.store.claim_job(busy)
                    if job is None:
                        break
                    task = asyncio.create_task(self._run(job.id, job.user_id, job.payload,
                                                         job.attempts))
                    self._running[job.id] = (job.user_id, task)
            except Exception:  # a database error must not kill the worker
                log.exception("memory worker: could not claim a job")
            if self._stopping:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            except asyncio.TimeoutError:
                pass

    def _forgotten(self, scope: Scope) -> None:
        """A user was forgotten: stop their running jobs now. Their rows are gone and their
        commit would be dropped anyway; this only saves the LLM time (and the CPU the devices
        need)."""
        if scope.user_id is None or scope.agent_id is not None or scope.run_id is not None:
            return
        for user, task in list(self._running.values()):
            if user == scope.user_id and not task.done():
                task.cancel()
                self.stopped_by_forget += 1

    async def _run(self, job_id: int, user_id: str | None, payload: dict[str, Any],
                   attempts: int) -> None:
        try:
            await self.memory.add(
                payload.get("messages", []), user_id=payload.get("user_id"),
                agent_id=payload.get("agent_id"), run_id=payload.get("run_id"),
                metadata=payload.get("metadata") or None, timestamp=payload.get("at"),
                _job=job_id,
            )
            self.completed += 1
            log.info("memory job %d done: %s", job_id, self.memory.last_add.events or "no facts")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failed += 1
            error = f"{type(exc).__name__}: {exc}"
            delay = None if attempts >= self.max_attempts else self.backoff_s * 2 ** (attempts - 1)
            if delay is None:
                log.error("memory job %d parked after %d attempts: %s", job_id, attempts, error)
            else:
                log.warning("memory job %d failed (attempt %d), retry in %.0f s: %s",
                            job_id, attempts, delay, error)
            try:
                await self.memory.store.fail_job(job_id, error, retry_in_s=delay)
            except Exception as write_error:  # e.g. the disk is full
                log.error("memory job %d: could not record its failure (%s); it runs again "
                          "once writing works", job_id, write_error)
                self._stale = True
        finally:
            self._running.pop(job_id, None)
            self._wake.set()
