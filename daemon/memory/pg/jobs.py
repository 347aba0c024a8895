"""The shared job queue on PostgreSQL: any worker process takes jobs with SKIP LOCKED.

- Per-user order: a job is taken only when no older job of its user is pending or running,
  so one user's jobs run one at a time, in order, across every process.
- Leases: a taken job carries ``lease_until`` (database clock) and a random token; this
  process renews the leases it holds while their jobs run. A worker that dies (kill -9, power
  cut) stops renewing; once the lease runs out any worker takes the job again.
- Once: a job completes in the transaction that applies its effects, and only while this
  process still holds its token, so a stalled worker that comes back after its job was
  retaken applies nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from daemon.memory.pg.sql import dumps
from daemon.memory.store import Job, now_iso

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

# The database's clock, in seconds: every process compares leases against the same clock.
NOW_S = "extract(epoch from clock_timestamp())"
_JOB_COLS = ("id, kind, user_id, payload, state, attempts, last_error, created_at, updated_at")


def _job(r: Any) -> Job:
    payload = r[3] if isinstance(r[3], dict) else json.loads(r[3])
    return Job(r[0], r[1], r[2], payload, r[4], r[5], r[6], r[7], r[8])


class PgJobs:
    if TYPE_CHECKING:
        pool: asyncpg.Pool

    def _init_jobs(self, lease_s: float) -> None:
        self.lease_s = lease_s
        self._tokens: dict[int, str] = {}  # job id -> lease token, for jobs this process holds
        self._keeper: asyncio.Task[None] | None = None

    def _release(self, job_id: int) -> None:
        self._tokens.pop(job_id, None)

    def _start_lease_keeper(self) -> None:
        self._keeper = asyncio.create_task(self._keep_leases(), name="pg-lease-keeper")

    async def _stop_lease_keeper(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        self._keeper = None

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not self._tokens:
                continue
            held = dict(self._tokens)
            try:
                rows = await self.pool.fetch(
                    f"UPDATE jobs SET lease_until = {NOW_S} + $1 WHERE state = 'running' "
                    "AND lease_token = ANY($2::text[]) RETURNING id",
                    self.lease_s, list(held.values()))
            except Exception:  # the database is away: the next round tries again
                log.warning("could not renew job leases", exc_info=True)
                continue
            # A held job that is gone (forgotten), retaken or finished: stop holding it.
            renewed = {r[0] for r in rows}
            for job_id, token in held.items():
                if job_id not in renewed and self._tokens.get(job_id) == token:
                    self._release(job_id)

    async def enqueue(self, kind: str, user_id: str | None, payload: dict[str, Any]) -> int:
        ts = now_iso()
        return int(await self.pool.fetchval(
            "INSERT INTO jobs(kind, user_id, payload, created_at, updated_at) "
            "VALUES ($1, $2, $3::jsonb, $4, $4) RETURNING id",
            kind, user_id, dumps(payload), ts))

    async def requeue_running(self, keep: Sequence[int] = ()) -> int:
        """Back to pending: jobs this process holds (except ``keep``) and jobs whose lease ran
        out. Never a job another live process is running."""
        mine = [t for j, t in self._tokens.items() if j not in set(keep)]
        status = await self.pool.execute(
            "UPDATE jobs SET state = 'pending', lease_token = NULL, updated_at = $1 "
            f"WHERE state = 'running' AND (lease_until < {NOW_S} OR lease_token = ANY($2::text[]))",
            now_iso(), mine)
        for job_id in [j for j in self._tokens if j not in set(keep)]:
            self._release(job_id)
        return int(status.rsplit(" ", 1)[-1])

    async def claim_job(self, busy_users: Iterable[str | None] = ()) -> Job | None:
        """Take the oldest due job (pending, or running with an expired lease) whose user has
        no older job pending or running, skipping rows other workers are taking."""
        busy = [u if u is not None else "" for u in busy_users]
        token = secrets.token_hex(16)
        r = await self.pool.fetchrow(
            "WITH c AS (SELECT id FROM jobs j WHERE "
            f"((j.state = 'pending' AND j.not_before <= {NOW_S}) OR "
            f"(j.state = 'running' AND j.lease_until < {NOW_S})) "
            "AND coalesce(j.user_id, '') <> ALL($1::text[]) "
            "AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.id < j.id "
            "AND o.state IN ('pending', 'running') "
            "AND coalesce(o.user_id, '') = coalesce(j.user_id, '')) "
            "ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = {NOW_S} "
            "+ $2, lease_token = $3, updated_at = $4 FROM c WHERE jobs.id = c.id "
            f"RETURNING {', '.join('jobs.' + c.strip() for c in _JOB_COLS.split(','))}",
            busy, self.lease_s, token, now_iso())
        if r is None:
            return None
        self._tokens[int(r[0])] = token
        return _job(r)

    async def has_due_jobs(self) -> bool:
        return bool(await self.pool.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running' OR "
            f"(state = 'pending' AND not_before <= {NOW_S}))"))

    async def get_job(self, job_id: int) -> Job | None:
        r = await self.pool.fetchrow(f"SELECT {_JOB_COLS} FROM jobs WHERE id = $1", job_id)
        return _job(r) if r else None

    async def fail_job(self, job_id: int, error: str, *, retry_in_s: float | None) -> None:
        """Back to pending after ``retry_in_s``, or parked (None); only while this process
        still holds the job (a retaken job is the new holder's)."""
        token = self._tokens.get(job_id)
        cond = "id = $3 AND lease_token IS NOT DISTINCT FROM coalesce($4, lease_token)"
        try:
            if retry_in_s is None:
                await self.pool.execute(
                    "UPDATE jobs SET state = 'parked', last_error = $1, updated_at = $2, "
                    f"lease_token = NULL WHERE {cond}", error[:2000], now_iso(), job_id, token)
            else:
                await self.pool.execute(
                    "UPDATE jobs SET state = 'pending', last_error = $1, updated_at = $2, "
                    f"lease_token = NULL, not_before = {NOW_S} + $5 WHERE {cond}",
                    error[:2000], now_iso(), job_id, token, retry_in_s)
        finally:
            self._release(job_id)

    async def jobs(self, states: Sequence[str] = ("pending", "running", "parked"),
                   limit: int = 100) -> list[Job]:
        rows = await self.pool.fetch(
            f"SELECT {_JOB_COLS} FROM jobs WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2",
            list(states), limit)
        return [_job(r) for r in rows]

    async def retry_parked(self, job_id: int | None = None) -> int:
        sql = ("UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0, updated_at = $1 "
               "WHERE state = 'parked' AND ($2::bigint IS NULL OR id = $2)")
        status = await self.pool.execute(sql, now_iso(), job_id)
        return int(status.rsplit(" ", 1)[-1])
