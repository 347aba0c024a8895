"""MemoryStore: the SQLite source of truth (memories, history, messages, jobs).

One writer connection serialises every change; a second connection serves reads so the
hot path never waits behind a write (WAL lets them run side by side). ``synchronous=FULL``
so that a committed memory survives a power cut, not only a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from daemon.memory import forget
from daemon.memory.filters import compile_filters
from daemon.memory.forget import Forgotten, WriteGuard
from daemon.memory.keywords import index_pending
from daemon.memory.schema import migrate

log = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def text_hash(text: str) -> str:
    return hashlib.md5(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()


FACT = "fact"
EPISODE = "episode"
KINDS = (FACT, EPISODE)


def partition_of(user_id: str | None, kind: str = FACT) -> str:
    """The HNSW partition a memory belongs to: one per user for facts, one for episodes."""
    return (user_id or "") if kind == FACT else f"{user_id or ''}\x1f{kind}"


def split_partition(partition: str) -> tuple[str, str]:
    """(user id or "", kind) of a partition name."""
    user, _, kind = partition.partition("\x1f")
    return user, kind or FACT


@dataclass
class Scope:
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    kind: str | None = FACT  # None = facts and episodes (what a forget removes)

    def sql(self, params: list[Any], table: str = "") -> str:
        parts = []
        for col in ("user_id", "agent_id", "run_id", "kind"):
            value = getattr(self, col)
            if value is not None:
                parts.append(f"{table}{col} = ?")
                params.append(value)
        return " AND ".join(parts) if parts else "1"

    def is_empty(self) -> bool:
        return self.user_id is None and self.agent_id is None and self.run_id is None


@dataclass
class MemoryRow:
    num: int
    id: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    text: str
    hash: str
    embedding: np.ndarray | None
    embedder: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    valid_from: str
    valid_to: str | None
    kind: str = FACT

    def public(self) -> dict[str, Any]:
        """The mem0 v1 shape of a memory."""
        out: dict[str, Any] = {
            "id": self.id,
            "memory": self.text,
            "hash": self.hash,
            "metadata": self.metadata or None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        for key in ("user_id", "agent_id", "run_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.valid_to is not None:
            out["valid_to"] = self.valid_to
        if self.kind != FACT:
            out["kind"] = self.kind
        return out


_COLS = (
    "num, id, user_id, agent_id, run_id, text, hash, embedding, embedder, metadata, "
    "created_at, updated_at, valid_from, valid_to, kind"
)


def _row(r: Sequence[Any]) -> MemoryRow:
    emb = np.frombuffer(r[7], dtype=np.float32) if r[7] is not None else None
    return MemoryRow(
        num=r[0],
        id=r[1],
        user_id=r[2],
        agent_id=r[3],
        run_id=r[4],
        text=r[5],
        hash=r[6],
        embedding=emb,
        embedder=r[8],
        metadata=json.loads(r[9] or "{}"),
        created_at=r[10],
        updated_at=r[11],
        valid_from=r[12],
        valid_to=r[13],
        kind=r[14],
    )


@dataclass
class Change:
    """One decided change to apply: ADD, UPDATE (in place), CLOSE (contradicted) or DELETE."""

    event: str
    text: str = ""
    memory_id: str | None = None
    embedding: np.ndarray | None = None
    scope: Scope = field(default_factory=Scope)
    metadata: dict[str, Any] = field(default_factory=dict)
    embedder: str | None = None
    actor: str = "system"


@dataclass
class Applied:
    """What one applied change did, for the API result and the index."""

    event: str
    memory_id: str
    text: str
    previous: str | None
    num: int
    partition: str
    embedding: np.ndarray | None


@dataclass
class Exchange:
    """One turn to record: what the user said, the answer, and the memory job to queue."""

    session_id: str
    user_id: str | None
    agent_id: str | None
    user_text: str
    answer: str
    interrupted: bool
    job: dict[str, Any] | None
    since: int | None = None  # the newest forget when the turn began (see forget.mark)


@dataclass
class Job:
    id: int
    kind: str
    user_id: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "user_id": self.user_id,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class MemoryStore:
    """All SQL lives here; callers see rows and dataclasses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        # Coroutines share the writer connection: a transaction must own it until it ends.
        self._wlock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn)
        self._w = await aiosqlite.connect(self.path, isolation_level=None)
        self._r = await aiosqlite.connect(self.path, isolation_level=None)
        for conn in (self._w, self._r):
            await conn.execute("PRAGMA busy_timeout=10000")
            await conn.execute("PRAGMA foreign_keys=ON")
        await self._w.execute("PRAGMA synchronous=FULL")
        # Deleted rows are overwritten with zeros, not left in free pages: a forget is real.
        await self._w.execute("PRAGMA secure_delete=ON")

    async def close(self) -> None:
        for conn in (self._w, self._r):
            if conn is not None:
                await conn.close()
        self._w = self._r = None

    @property
    def is_open(self) -> bool:
        return self._r is not None

    @property
    def w(self) -> aiosqlite.Connection:
        assert self._w is not None, "store is not open"
        return self._w

    @property
    def r(self) -> aiosqlite.Connection:
        assert self._r is not None, "store is not open"
        return self._r

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the writer connection, alone.

        Cancellation-safe: aiosqlite runs statements in order on its own thread even when the
        awaiting task is cancelled, so a cancelled BEGIN or body is always followed by a
        ROLLBACK (shielded, queued before any later BEGIN) and no transaction is left open."""
        async with self._wlock:
            try:
                await self.w.execute("BEGIN IMMEDIATE")
                yield self.w
                await index_pending(self.w)  # the words of rows written, in the same commit
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            await asyncio.shield(self.w.execute("COMMIT"))

    async def _rollback(self) -> None:
        try:
            await self.w.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction was open (BEGIN itself failed, or COMMIT already ran)

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async with self.r.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self.tx() as w:
            await w.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def generation(self, partition: str) -> int:
        value = await self.get_meta(f"index_gen:{partition}")
        return int(value) if value else 0

    async def _bump(self, partitions: Iterable[str]) -> None:
        """New generations for these partitions' indexes, from one counter for all: a
        partition whose key a forget removed never gets back a generation it had before."""
        parts = set(partitions)
        if not parts:
            return
        await self.w.execute(
            "INSERT INTO meta(key, value) VALUES ('index_gen_seq', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")
        for p in parts:
            await self.w.execute(
                "INSERT INTO meta(key, value) VALUES (?, (SELECT value FROM meta WHERE key = "
                "'index_gen_seq')) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (f"index_gen:{p}",),
            )

    # -- memories: reads -------------------------------------------------------------------

    async def get(self, memory_id: str) -> MemoryRow | None:
        async with self.r.execute(f"SELECT {_COLS} FROM memories WHERE id = ?", (memory_id,)) as c:
            row = await c.fetchone()
        return _row(row) if row else None

    async def get_by_nums(self, nums: Sequence[int]) -> dict[int, MemoryRow]:
        if not nums:
            return {}
        marks = ",".join("?" for _ in nums)
        async with self.r.execute(f"SELECT {_COLS} FROM memories WHERE num IN ({marks})", list(nums)) as cur:
            rows = await cur.fetchall()
        return {r[0]: _row(r) for r in rows}

    async def list(
        self,
        scope: Scope,
        filters: dict[str, Any] | None = None,
        *,
        limit: int | None = 100,
        offset: int = 0,
        include_closed: bool = False,
    ) -> list[MemoryRow]:
        params: list[Any] = []
        where = [scope.sql(params), compile_filters(filters, params)]
        if not include_closed:
            where.append("valid_to IS NULL")
        sql = f"SELECT {_COLS} FROM memories WHERE {' AND '.join(where)} ORDER BY num"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        async with self.r.execute(sql, params) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int:
        params: list[Any] = []
        sql = f"SELECT count(*) FROM memories WHERE {scope.sql(params)}"
        if not include_closed:
            sql += " AND valid_to IS NULL"
        async with self.r.execute(sql, params) as cur:
            (n,) = await cur.fetchone()  # type: ignore[misc]
        return int(n)

    async def filter_nums(
        self, nums: Sequence[int], scope: Scope, filters: dict[str, Any] | None
    ) -> dict[int, MemoryRow]:
        """The rows among ``nums`` that are live, in scope and pass the filters."""
        if not nums:
            return {}
        params: list[Any] = list(nums)
        marks = ",".join("?" for _ in nums)
        where = f"num IN ({marks}) AND valid_to IS NULL AND {scope.sql(params)}"
        where += f" AND {compile_filters(filters, params)}"
        async with self.r.execute(f"SELECT {_COLS} FROM memories WHERE {where}", params) as cur:
            return {r[0]: _row(r) for r in await cur.fetchall()}

    async def keyword_search(self, match: str, scope: Scope, limit: int) -> list[int]:
        """Nums of live memories in scope matching an FTS5 query over words, best BM25 first."""
        if not match:
            return []
        params: list[Any] = [match]
        sql = (
            "SELECT m.num FROM memories_words f JOIN memories m ON m.num = f.rowid "
            f"WHERE memories_words MATCH ? AND m.valid_to IS NULL AND {scope.sql(params, 'm.')} "
            "ORDER BY bm25(memories_words) LIMIT ?"
        )
        params.append(limit)
        try:
            async with self.r.execute(sql, params) as cur:
                return [r[0] for r in await cur.fetchall()]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse finds nothing
            return []

    async def embeddings(
        self, scope: Scope, filters: dict[str, Any] | None = None
    ) -> tuple[list[int], np.ndarray]:
        """Live memories' labels and vectors in a scope (exact search, index rebuilds)."""
        params: list[Any] = []
        where = f"{scope.sql(params)} AND {compile_filters(filters, params)}"
        async with self.r.execute(
            "SELECT num, embedding FROM memories WHERE valid_to IS NULL AND embedding IS NOT NULL"
            f" AND {where} ORDER BY num",
            params,
        ) as cur:
            rows = await cur.fetchall()
        nums = [r[0] for r in rows]
        if not rows:
            return nums, np.zeros((0, 0), dtype=np.float32)
        return nums, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    async def partition_vectors(self, partition: str) -> tuple[list[int], np.ndarray]:
        """Labels and vectors of one partition's live memories (what its index must hold)."""
        user, kind = split_partition(partition)
        async with self.r.execute(
            "SELECT num, embedding FROM memories WHERE coalesce(user_id, '') = ? AND kind = ? "
            "AND valid_to IS NULL AND embedding IS NOT NULL ORDER BY num",
            (user, kind),
        ) as cur:
            rows = await cur.fetchall()
        nums = [r[0] for r in rows]
        vecs = [np.frombuffer(r[1], dtype=np.float32) for r in rows]
        return nums, (np.stack(vecs) if vecs else np.zeros((0, 0), dtype=np.float32))

    async def partitions(self) -> list[str]:
        async with self.r.execute(
            "SELECT DISTINCT coalesce(user_id, ''), kind FROM memories WHERE valid_to IS NULL"
        ) as cur:
            return [partition_of(r[0], r[1]) for r in await cur.fetchall()]

    async def stale_embeddings(self, identity: str, batch: int = 256) -> list[tuple[int, str]]:
        async with self.r.execute(
            "SELECT num, text FROM memories WHERE embedder IS NOT ? OR embedding IS NULL LIMIT ?",
            (identity, batch),
        ) as cur:
            return [(r[0], r[1]) for r in await cur.fetchall()]

    async def count_stale_embeddings(self, identity: str) -> int:
        async with self.r.execute(
            "SELECT count(*) FROM memories WHERE embedder IS NOT ? OR embedding IS NULL",
            (identity,),
        ) as cur:
            (n,) = await cur.fetchone()  # type: ignore[misc]
        return int(n)

    async def set_embeddings(self, rows: Sequence[tuple[int, np.ndarray]], identity: str) -> None:
        async with self.tx():
            parts = set()
            for num, vec in rows:
                await self.w.execute(
                    "UPDATE memories SET embedding = ?, embedder = ? WHERE num = ?",
                    (np.asarray(vec, dtype=np.float32).tobytes(), identity, num),
                )
                async with self.w.execute(
                    "SELECT user_id, kind FROM memories WHERE num = ?", (num,)
                ) as c:
                    r = await c.fetchone()
                if r:
                    parts.add(partition_of(r[0], r[1]))
            await self._bump(parts)

    # -- memories: writes (one transaction per call) ---------------------------------------

    async def apply(
        self, changes: Sequence[Change], *, complete_job: int | None = None, at: str | None = None,
        guard: WriteGuard | None = None,
    ) -> list[Applied]:
        """Apply decided changes atomically (and mark ``complete_job`` done in the same
        transaction, so a job's effects and its completion are never split by a crash).
        ``at``: when the user said what the changes come from (default: now). ``guard``: apply
        nothing if its scope was forgotten since the write began (or its job was deleted)."""
        applied: list[Applied] = []
        ts = at or now_iso()
        async with self.tx():
            if guard is not None and await forget.is_void(self.w, guard):
                log.info("a write begun before a forget of its scope was dropped")
                return []
            for ch in changes:
                result = await self._apply_one(ch, ts)
                if result is not None:
                    applied.append(result)
            await self._bump(a.partition for a in applied)
            if complete_job is not None:
                await self.w.execute(
                    "UPDATE jobs SET state = 'done', updated_at = ?, last_error = NULL WHERE id = ?",
                    (now_iso(), complete_job),
                )
        return applied

    async def _history(
        self,
        memory_id: str,
        user_id: str | None,
        old: str | None,
        new: str | None,
        event: str,
        ts: str,
        actor: str,
    ) -> None:
        await self.w.execute(
            "INSERT INTO history(id, memory_id, user_id, old_memory, new_memory, event, "
            "created_at, actor, is_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                memory_id,
                user_id,
                old,
                new,
                event,
                ts,
                actor,
                1 if event == "DELETE" else 0,
            ),
        )

    async def _apply_one(self, ch: Change, ts: str) -> Applied | None:
        w = self.w
        if ch.event == "ADD":
            if ch.memory_id is not None:  # a given id is added once (a re-run job's episodes)
                async with w.execute("SELECT 1 FROM memories WHERE id = ?", (ch.memory_id,)) as c:
                    if await c.fetchone():
                        return None
            mid = ch.memory_id or str(uuid.uuid4())
            kind = ch.scope.kind or FACT
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            cur = await w.execute(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid,
                    ch.scope.user_id,
                    ch.scope.agent_id,
                    ch.scope.run_id,
                    ch.text,
                    text_hash(ch.text),
                    None if emb is None else emb.tobytes(),
                    ch.embedder,
                    json.dumps(ch.metadata, ensure_ascii=False),
                    ts,
                    ts,
                    ts,
                    kind,
                ),
            )
            await self._history(mid, ch.scope.user_id, None, ch.text, "ADD", ts, ch.actor)
            return Applied(
                "ADD", mid, ch.text, None, int(cur.lastrowid or 0),
                partition_of(ch.scope.user_id, kind), emb,
            )
        assert ch.memory_id is not None
        async with w.execute(
            "SELECT num, text, user_id, valid_to, kind FROM memories WHERE id = ?", (ch.memory_id,)
        ) as c:
            row = await c.fetchone()
        if row is None:
            return None
        num, old_text, user_id, valid_to, kind = row
        part = partition_of(user_id, kind)
        if ch.event == "UPDATE":
            if valid_to is not None:
                return None
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            params: list[Any] = [ch.text, text_hash(ch.text), ts]
            sets = "text = ?, hash = ?, updated_at = ?"
            if emb is not None:
                sets += ", embedding = ?, embedder = ?"
                params += [emb.tobytes(), ch.embedder]
            if ch.metadata:
                sets += ", metadata = json_patch(metadata, ?)"
                params.append(json.dumps(ch.metadata, ensure_ascii=False))
            await w.execute(f"UPDATE memories SET {sets} WHERE num = ?", [*params, num])
            await self._history(ch.memory_id, user_id, old_text, ch.text, "UPDATE", ts, ch.actor)
            return Applied("UPDATE", ch.memory_id, ch.text, old_text, num, part, emb)
        if ch.event == "CLOSE":
            if valid_to is not None:
                return None
            await w.execute("UPDATE memories SET valid_to = ?, updated_at = ? WHERE num = ?", (ts, ts, num))
            await self._history(ch.memory_id, user_id, old_text, None, "CLOSE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        if ch.event == "DELETE":
            # An explicit delete really removes the text, from history too.
            await w.execute("DELETE FROM memories WHERE num = ?", (num,))
            await w.execute(
                "UPDATE history SET old_memory = NULL, new_memory = NULL, is_deleted = 1 WHERE memory_id = ?",
                (ch.memory_id,),
            )
            await self._history(ch.memory_id, user_id, None, None, "DELETE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        raise ValueError(f"unknown change event {ch.event!r}")

    async def delete_scope(self, scope: Scope, actor: str = "user") -> list[Applied]:
        """Remove every memory of a scope (all of them, not the first 100)."""
        params: list[Any] = []
        where = scope.sql(params)
        async with self.r.execute(f"SELECT id FROM memories WHERE {where}", params) as cur:
            ids = [r[0] for r in await cur.fetchall()]
        return await self.apply([Change("DELETE", memory_id=i, actor=actor) for i in ids])

    async def entities(self) -> list[dict[str, Any]]:
        """Every user with memories: live and closed counts, last change."""
        async with self.r.execute(
            "SELECT coalesce(user_id, ''), sum(valid_to IS NULL AND kind = 'fact'), "
            "sum(valid_to IS NOT NULL AND kind = 'fact'), min(created_at), max(updated_at), "
            "sum(kind = 'episode') FROM memories GROUP BY coalesce(user_id, '') "
            "ORDER BY max(updated_at) DESC"
        ) as cur:
            rows = await cur.fetchall()
        return [
            {"id": r[0], "name": r[0], "type": "user", "total_memories": int(r[1] or 0),
             "closed_memories": int(r[2] or 0), "episodes": int(r[5] or 0),
             "created_at": r[3], "updated_at": r[4]}
            for r in rows
        ]

    async def export_rows(self, scope: Scope) -> list[tuple[MemoryRow, list[dict[str, Any]]]]:
        """Every memory of a scope (closed ones too) with its history, oldest first."""
        rows = await self.list(scope, limit=None, include_closed=True)
        return [(row, await self.history(row.id)) for row in rows]

    async def import_row(
        self, item: dict[str, Any], embedding: np.ndarray | None, embedder: str | None
    ) -> bool:
        """Insert one exported memory with its history, keeping ids and times; False if a
        memory with that id exists already (so importing twice changes nothing)."""
        async with self.tx() as w:
            async with w.execute("SELECT 1 FROM memories WHERE id = ?", (item["id"],)) as c:
                if await c.fetchone():
                    return False
            emb = None if embedding is None else np.asarray(embedding, np.float32).tobytes()
            kind = item.get("kind") if item.get("kind") in KINDS else FACT
            await w.execute(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, valid_to, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item["id"], item.get("user_id"), item.get("agent_id"), item.get("run_id"),
                 item["memory"], text_hash(item["memory"]), emb, embedder,
                 json.dumps(item.get("metadata") or {}, ensure_ascii=False),
                 item["created_at"], item["updated_at"],
                 item.get("valid_from") or item["created_at"], item.get("valid_to"), kind),
            )
            # A restore: the exported history replaces whatever a forget left of this id.
            await w.execute("DELETE FROM history WHERE memory_id = ?", (item["id"],))
            for h in item.get("history", []):
                await w.execute(
                    "INSERT OR REPLACE INTO history(id, memory_id, user_id, old_memory, "
                    "new_memory, event, created_at, actor, is_deleted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (h["id"], item["id"], item.get("user_id"), h.get("old_memory"),
                     h.get("new_memory"), "CLOSE" if h.get("closed") else h["event"],
                     h["created_at"], h.get("actor_id") or "import", int(bool(h.get("is_deleted")))),
                )
            if item.get("valid_to") is None:
                await self._bump([partition_of(item.get("user_id"), kind)])
        return True

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        async with self.r.execute(
            "SELECT id, memory_id, old_memory, new_memory, event, created_at, actor, is_deleted,"
            " user_id FROM history WHERE memory_id = ? ORDER BY seq",
            (memory_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            {
                "id": r[0],
                "memory_id": r[1],
                "old_memory": r[2],
                "new_memory": r[3],
                "event": "DELETE" if r[4] == "CLOSE" else r[4],
                "closed": r[4] == "CLOSE",
                "created_at": r[5],
                "updated_at": None,
                "actor_id": r[6],
                "is_deleted": bool(r[7]),
                "user_id": r[8],
            }
            for r in rows
        ]

    async def reset(self) -> None:
        async with self.tx():
            # A scope of everything: its tombstone voids every write in flight.
            await forget.forget_scope(self.w, None, None, None, now_iso())
            await self.w.execute("DELETE FROM meta WHERE key LIKE 'index_gen:%'")
            await forget.purge_fts(self.w)
        await self.truncate_wal()

    # -- forget (the SQL is in forget.py) --------------------------------------------------

    async def forget_mark(self) -> int:
        """The newest forget's number; pass it as ``WriteGuard.since`` / ``Exchange.since``."""
        return await forget.mark(self.r)

    async def forget_scope(self, scope: Scope) -> Forgotten:
        """Remove everything of a scope for good (see ``daemon.memory.forget``), one
        transaction; then the WAL is emptied so no old copy of the text stays on disk."""
        async with self.tx() as w:
            gone = await forget.forget_scope(w, scope.user_id, scope.agent_id, scope.run_id,
                                             now_iso())
            await self._bump(partition_of(u, k) for u, k in gone.removed)
            if scope.user_id is not None and scope.agent_id is None and scope.run_id is None:
                # The whole user is gone: not even its id stays, as an index generation key.
                keys = [f"index_gen:{partition_of(scope.user_id, k)}" for k in KINDS]
                await w.execute("DELETE FROM meta WHERE key IN (?, ?)", keys)
            await forget.purge_fts(w)
        await self.truncate_wal()
        return gone

    async def purge(self) -> None:
        """After a single delete: merge the FTS index and empty the WAL."""
        async with self.tx() as w:
            await forget.purge_fts(w)
        await self.truncate_wal()

    async def truncate_wal(self) -> bool:
        async with self._wlock:  # no write may start while the log is emptied
            return await forget.truncate_wal(self.w)

    # -- messages --------------------------------------------------------------------------

    async def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        *,
        user_id: str | None,
        agent_id: str | None = None,
        interrupted: bool = False,
    ) -> int:
        async with self.tx() as w:
            cur = await w.execute(
                "INSERT INTO messages(session_id, user_id, agent_id, role, content, interrupted, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, user_id, agent_id, role, content, int(interrupted), now_iso()),
            )
        return int(cur.lastrowid or 0)

    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Turns' messages and their extraction jobs, all in one transaction: never a message
        without its job, and one fsync for however many turns waited (group commit)."""
        ts = now_iso()
        async with self.tx() as w:
            for ex in exchanges:
                if ex.since is not None and await forget.is_void(
                        w, WriteGuard(ex.user_id, ex.agent_id, None, since=ex.since)):
                    log.info("a turn said before a forget of its user was not recorded")
                    continue
                await w.execute(
                    "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                    "interrupted, created_at) VALUES (?, ?, ?, 'user', ?, 0, ?)",
                    (ex.session_id, ex.user_id, ex.agent_id, ex.user_text, ts),
                )
                if ex.answer:
                    await w.execute(
                        "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                        "interrupted, created_at) VALUES (?, ?, ?, 'assistant', ?, ?, ?)",
                        (ex.session_id, ex.user_id, ex.agent_id, ex.answer,
                         int(ex.interrupted), ts),
                    )
                if ex.job is not None:
                    await w.execute(
                        "INSERT INTO jobs(kind, user_id, payload, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        ("extract", ex.user_id, json.dumps(ex.job, ensure_ascii=False), ts, ts),
                    )

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        async with self.r.execute(
            "SELECT role, content, interrupted FROM messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
            (session_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [{"role": r[0], "content": r[1], "interrupted": bool(r[2])} for r in reversed(rows)]

    # -- jobs ------------------------------------------------------------------------------

    async def enqueue(self, kind: str, user_id: str | None, payload: dict[str, Any]) -> int:
        ts = now_iso()
        async with self.tx() as w:
            cur = await w.execute(
                "INSERT INTO jobs(kind, user_id, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (kind, user_id, json.dumps(payload, ensure_ascii=False), ts, ts),
            )
        return int(cur.lastrowid or 0)

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

    async def has_due_jobs(self) -> bool:
        async with self.r.execute(
            "SELECT 1 FROM jobs WHERE state = 'running' OR (state = 'pending' AND not_before <= ?) LIMIT 1",
            (time.time(),),
        ) as cur:
            return await cur.fetchone() is not None

    async def get_job(self, job_id: int) -> Job | None:
        async with self.r.execute(
            "SELECT id, kind, user_id, payload, state, attempts, last_error, created_at, "
            "updated_at FROM jobs WHERE id = ?",
            (job_id,),
        ) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        return Job(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])

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
        return [Job(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8]) for r in rows]

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

