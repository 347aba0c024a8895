"""The SQLite store's job queue: durable, per-user ordered, retried, parked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from daemon.memory.store.records import Job, now_iso
from daemon.memory.store.sqlite.base import SqliteBase


async def insert_job(
    conn: aiosqlite.Connection, kind: str, user_id: str | None, payload: dict[str, Any], ts: str
) -> int:
    """The one place a job row is written (in the caller's transaction)."""
    cur = await conn.execute(
        "INSERT INTO jobs(kind, user_id, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (kind, user_id, json.dumps(payload, ensure_ascii=False), ts, ts),
    )
    return int(cur.lastrowid or 0)


def _job(r: Sequence[Any]) -> Job:
    return Job(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])


class Jobs(SqliteBase):
    async def enqueue(self, kind: str, user_id: str | None, payload: dict[str, Any]) -> int:
        async with self.tx() as w:
            return await insert_job(w, kind, user_id, payload, now_iso())

    async def requeue_running(self, keep: Sequence[int] = ()) -> int:
        """Jobs left 'running' (by a crash, or a failure that could not be written) go back to
        'pending', except those in ``keep`` (running now)."""
        sql = "UPDATE jobs SET state = 'pending', updated_at = ? WHERE state = 'running'"
        if keep:
            sql += f" AND id NOT IN ({','.join('?' for _ in keep)})"
        async with self.tx() as w:
            cur = await w.execute(sql, (now_iso(), *keep))
        return cur.rowcount

    async def claim_job(self, busy_users: Iterable[str | None] = ()) -> Job | None:
        """Take the oldest due pending job whose user has no job running (per-user order)."""
        busy = [u if u is not None else "" for u in busy_users]
        params: list[Any] = [time.time()]
        sql = (
            "SELECT id FROM jobs WHERE state = 'pending' AND not_before <= ? "
            "AND coalesce(user_id, '') NOT IN (SELECT coalesce(user_id, '') FROM jobs "
            "WHERE state = 'running')"
        )
        if busy:
            sql += f" AND coalesce(user_id, '') NOT IN ({','.join('?' for _ in busy)})"
            params += busy
        # Per-user FIFO: never take a job while an older job of the same user waits.
        sql += (
            " AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.state = 'pending' AND o.id < jobs.id"
            " AND coalesce(o.user_id, '') = coalesce(jobs.user_id, ''))"
            " ORDER BY id LIMIT 1"
        )
        async with self.tx() as w:
            async with w.execute(sql, params) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await w.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (now_iso(), row[0]),
            )
        return await self.get_job(int(row[0]))

    async def get_job(self, job_id: int) -> Job | None:
        async with self.r.execute(
            "SELECT id, kind, user_id, payload, state, attempts, last_error, created_at, "
            "updated_at FROM jobs WHERE id = ?",
            (job_id,),
        ) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        return _job(r)

    async def fail_job(self, job_id: int, error: str, *, retry_in_s: float | None) -> None:
        """Back to pending after ``retry_in_s``, or parked (None) with its error."""
        async with self.tx() as w:
            if retry_in_s is None:
                await w.execute(
                    "UPDATE jobs SET state = 'parked', last_error = ?, updated_at = ? WHERE id = ?",
                    (error[:2000], now_iso(), job_id),
                )
            else:
                await w.execute(
                    "UPDATE jobs SET state = 'pending', last_error = ?, not_before = ?, "
                    "updated_at = ? WHERE id = ?",
                    (error[:2000], time.time() + retry_in_s, now_iso(), job_id),
                )

    async def jobs(
        self, states: Sequence[str] = ("pending", "running", "parked"), limit: int = 100
    ) -> list[Job]:
        marks = ",".join("?" for _ in states)
        async with self.r.execute(
            "SELECT id, kind, user_id, payload, state, attempts, last_error, created_at, "
            f"updated_at FROM jobs WHERE state IN ({marks}) ORDER BY id LIMIT ?",
            [*states, limit],
        ) as cur:
            rows = await cur.fetchall()
        return [_job(r) for r in rows]

    async def retry_parked(self, job_id: int | None = None) -> int:
        params: list[Any] = [now_iso()]
        sql = "UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0, updated_at = ? "
        sql += "WHERE state = 'parked'"
        if job_id is not None:
            sql += " AND id = ?"
            params.append(job_id)
        async with self.tx() as w:
            cur = await w.execute(sql, params)
        return cur.rowcount
