"""PgStore writes: memories (apply, import, embeddings), forget, messages; one transaction
each. Same semantics as the SQLite store: a CLOSE keeps the text in history, a DELETE or a
forget removes it, a guarded write is dropped whole when its scope was forgotten meanwhile."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg
import numpy as np

from daemon.memory.pg import forget
from daemon.memory.pg.keywords import keyword_doc, tsv_sql
from daemon.memory.pg.sql import dumps, no_nul
from daemon.memory.store import (
    FACT,
    JOB_EXTRACT,
    KINDS,
    Applied,
    Change,
    Exchange,
    Forgotten,
    Scope,
    WriteGuard,
    now_iso,
    partition_of,
    text_hash,
)

if TYPE_CHECKING:
    import contextlib

log = logging.getLogger(__name__)


class _Void(Exception):
    """Raised inside a transaction to roll back a write that must not happen."""


class PgWrites:
    if TYPE_CHECKING:
        pool: asyncpg.Pool
        _tokens: dict[int, str]

        def tx(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]: ...
        def _release(self, job_id: int) -> None: ...

    async def _bump(self, conn: asyncpg.Connection, partitions: Iterable[str]) -> None:
        """New generations (one counter for all) for partitions whose live vectors changed."""
        for p in sorted(set(partitions)):  # sorted: two writers lock meta rows in one order
            await conn.execute(
                "INSERT INTO meta(key, value) VALUES ($1, nextval('index_gen_seq')::text) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value", f"index_gen:{p}")

    async def apply(
        self, changes: Sequence[Change], *, complete_job: int | None = None,
        at: str | None = None, guard: WriteGuard | None = None,
    ) -> list[Applied]:
        """Apply decided changes atomically, with ``complete_job``'s completion in the same
        transaction; nothing at all if the guard is void or the job's lease was lost."""
        ts = at or now_iso()
        try:
            async with self.tx() as conn:
                if guard is not None and await forget.is_void(
                        conn, guard, self._tokens.get(guard.job or -1)):
                    raise _Void("a write begun before a forget of its scope (or a job this "
                                "worker no longer holds) was dropped")
                applied = [a for ch in changes if (a := await self._apply_one(conn, ch, ts))]
                await self._bump(conn, (a.partition for a in applied))
                if complete_job is not None:
                    done = await conn.fetchval(
                        "UPDATE jobs SET state = 'done', updated_at = $1, last_error = NULL, "
                        "lease_token = NULL WHERE id = $2 AND state = 'running' AND "
                        "lease_token IS NOT DISTINCT FROM coalesce($3, lease_token) RETURNING id",
                        now_iso(), complete_job, self._tokens.get(complete_job))
                    if done is None:
                        raise _Void(f"job {complete_job} is no longer this worker's: not applied")
        except _Void as why:
            log.info("%s", why)
            return []
        finally:
            if complete_job is not None:
                self._release(complete_job)
        return applied

    async def _history(self, conn: asyncpg.Connection, memory_id: str, owner: Scope,
                       old: str | None, new: str | None, event: str, ts: str, actor: str) -> None:
        await conn.execute(
            "INSERT INTO history(id, memory_id, user_id, agent_id, run_id, old_memory, "
            "new_memory, event, created_at, actor, is_deleted) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            str(uuid.uuid4()), memory_id, owner.user_id, owner.agent_id, owner.run_id, old, new,
            event, ts, actor, event == "DELETE")

    async def _apply_one(self, conn: asyncpg.Connection, ch: Change, ts: str) -> Applied | None:
        if ch.text:
            ch.text = no_nul(ch.text)
        if ch.event == "ADD":
            if ch.memory_id is not None and await conn.fetchval(
                    "SELECT 1 FROM memories WHERE id = $1", ch.memory_id):
                return None  # a given id is added once (a re-run job's episodes)
            mid = ch.memory_id or str(uuid.uuid4())
            kind = ch.scope.kind or FACT
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            num = await conn.fetchval(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, kind, tsv) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $10, $10, $11, "
                f"{tsv_sql('$12', '$13')}) RETURNING num",
                mid, ch.scope.user_id, ch.scope.agent_id, ch.scope.run_id, ch.text,
                text_hash(ch.text), emb, ch.embedder, dumps(ch.metadata),
                ts, kind, *keyword_doc(ch.text))
            await self._history(conn, mid, ch.scope, None, ch.text, "ADD", ts, ch.actor)
            return Applied("ADD", mid, ch.text, None, int(num),
                           partition_of(ch.scope.user_id, kind), emb)
        assert ch.memory_id is not None
        row = await conn.fetchrow("SELECT num, text, user_id, agent_id, run_id, valid_to, kind "
                                  "FROM memories WHERE id = $1 FOR UPDATE", ch.memory_id)
        if row is None:
            return None
        num, old_text, user_id, agent_id, run_id, valid_to, kind = row
        owner = Scope(user_id, agent_id, run_id, kind)
        part = partition_of(user_id, kind)
        if ch.event == "UPDATE":
            if valid_to is not None:
                return None
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            latin, grams = keyword_doc(ch.text)
            await conn.execute(
                "UPDATE memories SET text = $1, hash = $2, updated_at = $3, "
                f"tsv = {tsv_sql('$4', '$9')}, embedding = coalesce($5, embedding), "
                "embedder = CASE WHEN $5::vector IS NULL THEN embedder ELSE $6 END, "
                "metadata = metadata || $7::jsonb WHERE num = $8",
                ch.text, text_hash(ch.text), ts, latin, emb, ch.embedder,
                dumps(ch.metadata or {}), num, grams)
            await self._history(conn, ch.memory_id, owner, old_text, ch.text, "UPDATE", ts,
                                ch.actor)
            return Applied("UPDATE", ch.memory_id, ch.text, old_text, num, part, emb)
        if ch.event == "CLOSE":
            if valid_to is not None:
                return None
            await conn.execute("UPDATE memories SET valid_to = $1, updated_at = $1 WHERE num = $2",
                               ts, num)
            await self._history(conn, ch.memory_id, owner, old_text, None, "CLOSE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        if ch.event == "DELETE":
            # The user's "forget this": the row and every text of it in history go; the
            # DELETE event stays, as in mem0, without the text (as the SQLite store).
            await conn.execute("DELETE FROM memories WHERE num = $1", num)
            await conn.execute("UPDATE history SET old_memory = NULL, new_memory = NULL, "
                               "is_deleted = TRUE WHERE memory_id = $1", ch.memory_id)
            await self._history(conn, ch.memory_id, owner, None, None, "DELETE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        raise ValueError(f"unknown change event {ch.event!r}")

    async def set_embeddings(self, rows: Sequence[tuple[int, np.ndarray]], identity: str) -> None:
        async with self.tx() as conn:
            parts = set()
            for num, vec in rows:
                r = await conn.fetchrow(
                    "UPDATE memories SET embedding = $1, embedder = $2 WHERE num = $3 "
                    "RETURNING user_id, kind", np.asarray(vec, np.float32), identity, num)
                if r:
                    parts.add(partition_of(r[0], r[1]))
            await self._bump(conn, parts)

    async def delete_scope(self, scope: Scope, actor: str = "user") -> list[Applied]:
        from daemon.memory.pg.sql import Params, scope_sql

        p = Params()
        ids = [r[0] for r in await self.pool.fetch(
            f"SELECT id FROM memories WHERE {scope_sql(scope, p)}", *p)]
        return await self.apply([Change("DELETE", memory_id=i, actor=actor) for i in ids])

    async def import_row(
        self, item: dict[str, Any], embedding: np.ndarray | None, embedder: str | None
    ) -> bool:
        """Insert one exported memory with its history, keeping ids and times; False if a
        memory with that id exists already (importing twice changes nothing)."""
        return (await self.import_rows([item], [embedding], embedder))[0]

    async def import_rows(
        self, items: Sequence[dict[str, Any]], embeddings: Sequence[np.ndarray | None],
        embedder: str | None,
    ) -> list[bool]:
        """``import_row`` for a batch, in one transaction."""
        async with self.tx() as conn:
            return [await self._import_one(conn, item, emb, embedder)
                    for item, emb in zip(items, embeddings, strict=True)]

    async def _import_one(self, conn: Any, item: dict[str, Any], embedding: np.ndarray | None,
                          embedder: str | None) -> bool:
        item = no_nul(item)
        if await conn.fetchval("SELECT 1 FROM memories WHERE id = $1", item["id"]):
            return False
        emb = None if embedding is None else np.asarray(embedding, np.float32)
        kind = item.get("kind") if item.get("kind") in KINDS else FACT
        await conn.execute(
            "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
            "embedder, metadata, created_at, updated_at, valid_from, valid_to, kind, tsv) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, "
            f"{tsv_sql('$15', '$16')})",
            item["id"], item.get("user_id"), item.get("agent_id"), item.get("run_id"),
            item["memory"], text_hash(item["memory"]), emb, embedder,
            dumps(item.get("metadata") or {}),
            item["created_at"], item["updated_at"],
            item.get("valid_from") or item["created_at"], item.get("valid_to"), kind,
            *keyword_doc(item["memory"]))
        await conn.execute("DELETE FROM history WHERE memory_id = $1", item["id"])
        for h in item.get("history", []):
            await conn.execute(
                "INSERT INTO history(id, memory_id, user_id, agent_id, run_id, old_memory, "
                "new_memory, event, created_at, actor, is_deleted) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                "ON CONFLICT (id) DO NOTHING",
                h["id"], item["id"], item.get("user_id"), item.get("agent_id"),
                item.get("run_id"), h.get("old_memory"),
                h.get("new_memory"), "CLOSE" if h.get("closed") else h["event"],
                h["created_at"], h.get("actor_id") or "import", bool(h.get("is_deleted")))
        if item.get("valid_to") is None:
            await self._bump(conn, [partition_of(item.get("user_id"), kind)])
        return True

    async def reset(self) -> None:
        async with self.tx() as conn:
            await forget.forget_scope(conn, None, None, None, now_iso())
            await conn.execute("DELETE FROM meta WHERE key LIKE 'index_gen:%'")

    async def forget_mark(self) -> int:
        return await forget.mark(self.pool)

    async def forget_scope(self, scope: Scope) -> Forgotten:
        async with self.tx() as conn:
            gone = await forget.forget_scope(conn, scope.user_id, scope.agent_id, scope.run_id,
                                             now_iso())
            await self._bump(conn, (partition_of(u, k) for u, k in gone.removed))
            if scope.user_id is not None and scope.agent_id is None and scope.run_id is None:
                keys = [f"index_gen:{partition_of(scope.user_id, k)}" for k in KINDS]
                await conn.execute("DELETE FROM meta WHERE key = ANY($1::text[])", keys)
        return gone

    async def add_message(self, session_id: str, role: str, content: str, *,
                          user_id: str | None, agent_id: str | None = None,
                          interrupted: bool = False) -> int:
        return int(await self.pool.fetchval(
            "INSERT INTO messages(session_id, user_id, agent_id, role, content, interrupted, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            session_id, user_id, agent_id, role, no_nul(content), interrupted, now_iso()))

    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Turns' messages and their extraction jobs, in one transaction."""
        ts = now_iso()
        async with self.tx() as conn:
            for ex in exchanges:
                ex.user_text, ex.answer = no_nul(ex.user_text), no_nul(ex.answer)
                if ex.since is not None and await forget.is_void(
                        conn, WriteGuard(ex.user_id, ex.agent_id, None, since=ex.since), None):
                    log.info("a turn said before a forget of its user was not recorded")
                    continue
                await conn.execute(
                    "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                    "interrupted, created_at) VALUES ($1, $2, $3, 'user', $4, FALSE, $5)",
                    ex.session_id, ex.user_id, ex.agent_id, ex.user_text, ts)
                if ex.answer:
                    await conn.execute(
                        "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                        "interrupted, created_at) VALUES ($1, $2, $3, 'assistant', $4, $5, $6)",
                        ex.session_id, ex.user_id, ex.agent_id, ex.answer, ex.interrupted, ts)
                if ex.job is not None:
                    await conn.execute(
                        "INSERT INTO jobs(kind, user_id, payload, created_at, updated_at) "
                        "VALUES ($1, $2, $3::jsonb, $4, $4)", JOB_EXTRACT,
                        ex.user_id, dumps(ex.job), ts)
