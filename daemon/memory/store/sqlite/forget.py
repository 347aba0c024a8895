"""Forget for good: the SQL that removes a scope, and the tombstones that keep it removed.

A forget deletes, in the caller's transaction, every memory of the scope (facts and
episodes), all their history rows, the raw dialogue lines (``messages``) and every job (any
state: a job's payload holds the user's words). It then leaves one tombstone: the scope's ids
as truncated sha256 hashes and the time, never an id or a word. Any write that started before
the tombstone (an add still embedding, an extraction job still waiting for the LLM, a turn
being recorded) and falls in its scope is dropped when it tries to commit: that is what stops
a queued job from bringing the forgotten words back a second later.

``purge`` then makes the deleted bytes unreadable: the FTS index is merged (a deleted row's
trigrams otherwise stay in old segments), and the WAL is checkpointed and truncated (its old
frames still hold the text). Deleted pages are zeroed by ``PRAGMA secure_delete`` (set on the
writer connection).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta, timezone

import aiosqlite

from daemon.memory.store.records import Forgotten, WriteGuard

log = logging.getLogger(__name__)

# Tombstones older than this are dropped: no write stays in flight that long (a turn kept in
# RAM while the disk is full is the longest; jobs of the scope are deleted, not voided).
TOMBSTONE_DAYS = 30


def scope_key(value: str | None) -> str | None:
    """What a tombstone keeps of an id: enough to match it, not the id itself."""
    if value is None:
        return None
    return hashlib.sha256(f"xiaozhi-memd:{value}".encode()).hexdigest()[:32]


async def mark(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM forgets") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def is_void(conn: aiosqlite.Connection, guard: WriteGuard) -> bool:
    """True when the guarded write must not be applied."""
    if guard.job is not None:
        async with conn.execute("SELECT 1 FROM jobs WHERE id = ?", (guard.job,)) as cur:
            if await cur.fetchone() is None:
                return True
    if guard.since is None:
        return False
    async with conn.execute(
        "SELECT 1 FROM forgets WHERE seq > ? AND (user_key IS NULL OR user_key = ?) "
        "AND (agent_key IS NULL OR agent_key = ?) AND (run_key IS NULL OR run_key = ?) LIMIT 1",
        (guard.since, scope_key(guard.user_id), scope_key(guard.agent_id),
         scope_key(guard.run_id)),
    ) as cur:
        return await cur.fetchone() is not None


def _where(user_id: str | None, agent_id: str | None, run_id: str | None,
           cols: tuple[str, str, str]) -> tuple[str, list[str]]:
    parts, params = [], []
    for col, value in zip(cols, (user_id, agent_id, run_id)):
        if value is not None:
            parts.append(f"{col} = ?")
            params.append(value)
    return " AND ".join(parts) or "1", params


async def forget_scope(
    conn: aiosqlite.Connection, user_id: str | None, agent_id: str | None,
    run_id: str | None, now: str,
) -> Forgotten:
    """Delete everything of a scope and leave its tombstone (inside the caller's transaction).
    A scope of all None is everything (a reset)."""
    out = Forgotten()
    mem_where, mp = _where(user_id, agent_id, run_id, ("user_id", "agent_id", "run_id"))
    async with conn.execute(
        f"SELECT num, coalesce(user_id, ''), kind FROM memories WHERE {mem_where}", mp
    ) as cur:
        for num, user, kind in await cur.fetchall():
            out.removed.setdefault((user, kind), []).append(num)
            if kind == "fact":
                out.facts += 1
            else:
                out.episodes += 1
    # The scope's live and closed memories' history, and what single deletes left (their
    # DELETE events hold the text; older rows without agent/run ids were blanked then).
    hist_where, hp = _where(user_id, agent_id, run_id, ("user_id", "agent_id", "run_id"))
    cur = await conn.execute(
        f"DELETE FROM history WHERE memory_id IN (SELECT id FROM memories WHERE {mem_where}) "
        f"OR ({hist_where})", mp + hp)
    out.history += max(cur.rowcount, 0)
    await conn.execute(f"DELETE FROM memories WHERE {mem_where}", mp)
    if run_id is None:
        # Dialogue lines carry user and agent ids, not run ids: a run's forget keeps them.
        msg_where, gp = _where(user_id, agent_id, None, ("user_id", "agent_id", ""))
        cur = await conn.execute(f"DELETE FROM messages WHERE {msg_where}", gp)
        out.messages = max(cur.rowcount, 0)
    job_where, jp = _where(user_id, agent_id, run_id, (
        "user_id", "json_extract(payload, '$.agent_id')", "json_extract(payload, '$.run_id')"))
    cur = await conn.execute(f"DELETE FROM jobs WHERE {job_where}", jp)
    out.jobs = max(cur.rowcount, 0)
    old = (datetime.now(timezone.utc) - timedelta(days=TOMBSTONE_DAYS)).isoformat()
    await conn.execute("DELETE FROM forgets WHERE at < ?", (old,))
    await conn.execute(
        "INSERT INTO forgets(user_key, agent_key, run_key, at) VALUES (?, ?, ?, ?)",
        (scope_key(user_id), scope_key(agent_id), scope_key(run_id), now),
    )
    return out


async def purge_fts(conn: aiosqlite.Connection) -> None:
    """Merge the FTS index so deleted rows' terms leave its old segments (in a transaction)."""
    await conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")


async def truncate_wal(conn: aiosqlite.Connection, attempts: int = 50) -> bool:
    """Checkpoint everything into the database file and empty the WAL (outside a
    transaction). A reader in the middle of a query makes it wait; False if it never could."""
    for _ in range(attempts):
        async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            row = await cur.fetchone()
        if row is not None and row[0] == 0:
            return True
        await asyncio.sleep(0.02)
    log.warning("the write-ahead log could not be emptied after a forget (busy readers): "
                "its old pages are overwritten as the log is reused")
    return False
