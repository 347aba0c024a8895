"""Forget for good on PostgreSQL: the same rules as ``daemon.memory.store.sqlite.forget``.

Deletes every memory of the scope, their history, the dialogue lines and the jobs (any state),
then leaves one tombstone of hashed ids; a guarded write that began before it is dropped. A
guarded job write is also dropped when this process no longer holds the job's lease (another
worker took it over): that is what applies each job once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg

from daemon.memory.store.records import Forgotten, WriteGuard
from daemon.memory.store.sqlite.forget import TOMBSTONE_DAYS, scope_key


async def mark(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM forgets"))


async def is_void(conn: asyncpg.Connection, guard: WriteGuard, token: str | None) -> bool:
    if guard.job is not None:
        row = await conn.fetchrow("SELECT lease_token FROM jobs WHERE id = $1 FOR SHARE",
                                  guard.job)
        if row is None or (token is not None and row[0] != token):
            return True
    if guard.since is None:
        return False
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM forgets WHERE seq > $1 "
        "AND (user_key IS NULL OR user_key = $2) AND (agent_key IS NULL OR agent_key = $3) "
        "AND (run_key IS NULL OR run_key = $4))",
        guard.since, scope_key(guard.user_id), scope_key(guard.agent_id),
        scope_key(guard.run_id))


def _where(values: tuple[str | None, ...], cols: tuple[str, ...],
           start: int = 0) -> tuple[str, list[str]]:
    """Condition on the given columns (placeholders numbered after ``start`` bound values)."""
    parts, params = [], []
    for col, value in zip(cols, values):
        if value is not None:
            params.append(value)
            parts.append(f"{col} = ${start + len(params)}")
    return " AND ".join(parts) or "TRUE", params


async def forget_scope(conn: asyncpg.Connection, user_id: str | None, agent_id: str | None,
                       run_id: str | None, now: str) -> Forgotten:
    """Delete everything of a scope and leave its tombstone (in the caller's transaction)."""
    out = Forgotten()
    mem_where, mp = _where((user_id, agent_id, run_id), ("user_id", "agent_id", "run_id"))
    for num, user, kind in await conn.fetch(
            f"SELECT num, coalesce(user_id, ''), kind FROM memories WHERE {mem_where}", *mp):
        out.removed.setdefault((user, kind), []).append(num)
        if kind == "fact":
            out.facts += 1
        else:
            out.episodes += 1
    # The scope's memories' history, and what single deletes left of its memories.
    hist_where, hp = _where((user_id, agent_id, run_id), ("user_id", "agent_id", "run_id"),
                            start=len(mp))
    status = await conn.execute(
        f"DELETE FROM history WHERE memory_id IN (SELECT id FROM memories WHERE {mem_where}) "
        f"OR ({hist_where})", *mp, *hp)
    out.history += _count(status)
    await conn.execute(f"DELETE FROM memories WHERE {mem_where}", *mp)
    if run_id is None:
        msg_where, gp = _where((user_id, agent_id), ("user_id", "agent_id"))
        out.messages = _count(await conn.execute(f"DELETE FROM messages WHERE {msg_where}", *gp))
    job_where, jp = _where((user_id, agent_id, run_id),
                           ("user_id", "payload->>'agent_id'", "payload->>'run_id'"))
    out.jobs = _count(await conn.execute(f"DELETE FROM jobs WHERE {job_where}", *jp))
    old = (datetime.now(timezone.utc) - timedelta(days=TOMBSTONE_DAYS)).isoformat()
    await conn.execute("DELETE FROM forgets WHERE at < $1", old)
    await conn.execute(
        "INSERT INTO forgets(user_key, agent_key, run_key, at) VALUES ($1, $2, $3, $4)",
        scope_key(user_id), scope_key(agent_id), scope_key(run_id), now)
    return out


def _count(status: str) -> int:
    """Rows touched, from asyncpg's command status ("DELETE 3")."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except ValueError:
        return 0
