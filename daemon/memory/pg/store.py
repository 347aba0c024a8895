"""PgStore: the PostgreSQL source of truth (lifecycle, reads, vector and keyword search).

Writes are in ``writes.py`` and the job queue in ``jobs.py`` (mixins of the one class). A
connection pool serves every coroutine; each write is one transaction. Nothing is cached in
the process: several servers on one database see each other's writes at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector

from daemon.memory.filters import Filters
from daemon.memory.pg.jobs import PgJobs
from daemon.memory.pg.keywords import keyword_tsquery, tsquery_sql
from daemon.memory.pg.schema import ensure_vector_index, migrate
from daemon.memory.pg.sql import COLS, Params, as_array, filters_sql, scope_sql, to_row
from daemon.memory.pg.writes import PgWrites
from daemon.memory.store import MemoryRow, Scope, partition_of, split_partition

log = logging.getLogger(__name__)

KEYWORD_POOL = 2000  # keyword matches ranked per query, newest first (see keyword_search)
EXACT_BELOW = 2000  # a user's partition this small is searched exactly (see vector_search)


class PgStore(PgWrites, PgJobs):
    """All PostgreSQL SQL of the memory engine; callers see rows and dataclasses."""

    # Memory asks this store for vector hits (pgvector HNSW) instead of keeping hnswlib files.
    has_vector_index = True

    def __init__(
        self, dsn: str, *, dim: int | None = None, pool_size: int = 8, lease_s: float = 60.0,
        hnsw_m: int = 16, hnsw_ef_construction: int = 200, hnsw_ef_search: int = 128,
    ) -> None:
        self.dsn = dsn
        self.dim = dim
        self.pool_size = pool_size
        self.hnsw = (hnsw_m, hnsw_ef_construction, hnsw_ef_search)
        self._pool: asyncpg.Pool | None = None
        self._init_jobs(lease_s)

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate(conn)
            if self.dim:
                await ensure_vector_index(conn, self.dim, self.hnsw[0], self.hnsw[1])
        finally:
            await conn.close()
        # The HNSW search settings for every pooled connection, so a vector query is one round
        # trip (iterative scan: a small user in a big table still gets k hits).
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, init=register_vector,
            server_settings={"hnsw.ef_search": str(self.hnsw[2]),
                             "hnsw.iterative_scan": "relaxed_order"})
        self._start_lease_keeper()

    async def close(self) -> None:
        await self._stop_lease_keeper()
        if self._pool is not None:
            await self._pool.close()
        self._pool = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction on a pooled connection (rolled back on any error or cancel)."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        return await self.pool.fetchval("SELECT value FROM meta WHERE key = $1", key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.pool.execute(
            "INSERT INTO meta(key, value) VALUES ($1, $2) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)

    async def generation(self, partition: str) -> int:
        value = await self.get_meta(f"index_gen:{partition}")
        return int(value) if value else 0

    # -- memories: reads -------------------------------------------------------------------

    async def get(self, memory_id: str) -> MemoryRow | None:
        r = await self.pool.fetchrow(f"SELECT {COLS} FROM memories WHERE id = $1", memory_id)
        return to_row(r) if r else None

    async def get_by_nums(self, nums: Sequence[int]) -> dict[int, MemoryRow]:
        if not nums:
            return {}
        rows = await self.pool.fetch(f"SELECT {COLS} FROM memories WHERE num = ANY($1::bigint[])",
                                     list(nums))
        return {r[0]: to_row(r) for r in rows}

    async def list(
        self, scope: Scope, filters: Filters = None, *,
        limit: int | None = 100, offset: int = 0, include_closed: bool = False,
        newest_first: bool = False,
    ) -> list[MemoryRow]:
        p = Params()
        where = [scope_sql(scope, p), filters_sql(filters, p)]
        if not include_closed:
            where.append("valid_to IS NULL")
        sql = f"SELECT {COLS} FROM memories WHERE {' AND '.join(where)} ORDER BY num"
        sql += " DESC" if newest_first else ""
        if limit is not None:
            sql += f" LIMIT {p.add(limit)} OFFSET {p.add(offset)}"
        return [to_row(r) for r in await self.pool.fetch(sql, *p)]

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int:
        p = Params()
        sql = f"SELECT count(*) FROM memories WHERE {scope_sql(scope, p)}"
        if not include_closed:
            sql += " AND valid_to IS NULL"
        return int(await self.pool.fetchval(sql, *p))

    async def filter_nums(
        self, nums: Sequence[int], scope: Scope, filters: Filters
    ) -> dict[int, MemoryRow]:
        if not nums:
            return {}
        p = Params()
        where = (f"num = ANY({p.add(list(nums))}::bigint[]) AND valid_to IS NULL AND "
                 f"{scope_sql(scope, p)} AND {filters_sql(filters, p)}")
        rows = await self.pool.fetch(f"SELECT {COLS} FROM memories WHERE {where}", *p)
        return {r[0]: to_row(r) for r in rows}

    async def keyword_search(self, match: str, scope: Scope, limit: int) -> list[int]:
        """Full-text search over the keyword documents (see pg/keywords.py), best first."""
        latin, cjk = keyword_tsquery(match)
        if not (latin or cjk):
            return []
        p = Params()
        q = tsquery_sql(latin, cjk, p)
        # Ranking reads each match's keyword document: among matches of words many memories
        # share, only the newest KEYWORD_POOL are ranked, so a lookup's cost stays bounded
        # (the planner then walks the primary key backwards; the vector side sees them all).
        sql = (f"SELECT num FROM (SELECT num, tsv FROM memories WHERE tsv @@ {q} AND "
               f"valid_to IS NULL AND {scope_sql(scope, p)} ORDER BY num DESC "
               f"LIMIT {KEYWORD_POOL}) m ORDER BY ts_rank(m.tsv, {q}) DESC, num DESC "
               f"LIMIT {p.add(limit)}")
        return [r[0] for r in await self.pool.fetch(sql, *p)]

    async def vector_search(
        self, scope: Scope, qvec: np.ndarray, k: int, filters: Filters = None
    ) -> list[tuple[int, float]]:
        """(num, cosine similarity) of the ``k`` nearest live memories in scope, best first.
        A plain user scope of more than EXACT_BELOW memories walks the HNSW index (iterative
        scan: it keeps walking until ``k`` of the user's own are found); smaller ones, and
        filters or agent/run scopes, are searched exactly, as on SQLite."""
        q = np.asarray(qvec, dtype=np.float32)
        dim = int(q.shape[0])
        p = Params()
        qm = p.add(q)
        plain = (scope.user_id is not None and scope.agent_id is None and scope.run_id is None
                 and scope.kind is not None and not filters)
        if plain:
            # A small (or empty) partition is searched exactly: cheap, and the shared graph's
            # filtered walk would visit many other users' vectors to find its few (measured:
            # 72 ms for an empty partition in a 10k table, against 1 ms exact).
            small = await self.pool.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM memories WHERE user_id = $1 AND kind = $2 "
                f"AND valid_to IS NULL LIMIT {EXACT_BELOW + 1}) s", scope.user_id, scope.kind)
            plain = small > EXACT_BELOW
        dist = f"(embedding::vector({dim}) <=> {qm}::vector({dim}))"
        where = (f"vector_dims(embedding) = {dim} AND valid_to IS NULL AND "
                 f"{scope_sql(scope, p)} AND {filters_sql(filters, p)}")
        # "+ 0": an expression the index cannot serve, so the planner computes it exactly.
        order = dist if plain else f"{dist} + 0"
        sql = (f"SELECT num, 1 - {dist} AS score FROM memories WHERE {where} "
               f"ORDER BY {order} LIMIT {p.add(k)}")
        if plain and k > self.hnsw[2]:  # more hits than the graph search keeps by default
            async with self.tx() as conn:
                await conn.execute(f"SET LOCAL hnsw.ef_search = {int(k)}")
                rows = await conn.fetch(sql, *p)
        else:
            rows = await self.pool.fetch(sql, *p)
        hits = [(int(r[0]), float(r[1])) for r in rows]
        hits.sort(key=lambda h: -h[1])  # relaxed order: re-sort what the graph returned
        return hits

    async def embeddings(
        self, scope: Scope, filters: Filters = None
    ) -> tuple[list[int], np.ndarray]:
        p = Params()
        rows = await self.pool.fetch(
            "SELECT num, embedding FROM memories WHERE valid_to IS NULL AND embedding IS NOT "
            f"NULL AND {scope_sql(scope, p)} AND {filters_sql(filters, p)} ORDER BY num", *p)
        return _stack(rows)

    async def partition_vectors(self, partition: str) -> tuple[list[int], np.ndarray]:
        user, kind = split_partition(partition)
        rows = await self.pool.fetch(
            "SELECT num, embedding FROM memories WHERE coalesce(user_id, '') = $1 AND kind = $2"
            " AND valid_to IS NULL AND embedding IS NOT NULL ORDER BY num", user, kind)
        return _stack(rows)

    async def partitions(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT coalesce(user_id, ''), kind FROM memories WHERE valid_to IS NULL")
        return [partition_of(r[0], r[1]) for r in rows]

    async def stale_embeddings(self, identity: str, batch: int = 256) -> list[tuple[int, str]]:
        rows = await self.pool.fetch(
            "SELECT num, text FROM memories WHERE embedder IS DISTINCT FROM $1 OR embedding "
            "IS NULL ORDER BY num LIMIT $2", identity, batch)
        return [(r[0], r[1]) for r in rows]

    async def count_stale_embeddings(self, identity: str) -> int:
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM memories WHERE embedder IS DISTINCT FROM $1 OR embedding IS NULL",
            identity))

    async def entities(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT coalesce(user_id, ''), "
            "count(*) FILTER (WHERE valid_to IS NULL AND kind = 'fact'), "
            "count(*) FILTER (WHERE valid_to IS NOT NULL AND kind = 'fact'), min(created_at), "
            "max(updated_at), count(*) FILTER (WHERE kind = 'episode') FROM memories "
            "GROUP BY coalesce(user_id, '') ORDER BY max(updated_at) DESC")
        return [
            {"id": r[0], "name": r[0], "type": "user", "total_memories": int(r[1]),
             "closed_memories": int(r[2]), "episodes": int(r[5]),
             "created_at": r[3], "updated_at": r[4]}
            for r in rows
        ]

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT id, memory_id, old_memory, new_memory, event, created_at, actor, is_deleted,"
            " user_id FROM history WHERE memory_id = $1 ORDER BY seq", memory_id)
        return [
            {"id": r[0], "memory_id": r[1], "old_memory": r[2], "new_memory": r[3],
             "event": "DELETE" if r[4] == "CLOSE" else r[4], "closed": r[4] == "CLOSE",
             "created_at": r[5], "updated_at": None, "actor_id": r[6],
             "is_deleted": bool(r[7]), "user_id": r[8],
             "role": None}  # mem0's field: who spoke (the actor is recorded instead)
            for r in rows
        ]

    async def export_rows(self, scope: Scope) -> list[tuple[MemoryRow, list[dict[str, Any]]]]:
        rows = await self.list(scope, limit=None, include_closed=True)
        return [(row, await self.history(row.id)) for row in rows]

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT role, content, interrupted FROM messages WHERE session_id = $1 "
            "ORDER BY seq DESC LIMIT $2", session_id, limit)
        return [{"role": r[0], "content": r[1], "interrupted": bool(r[2])} for r in reversed(rows)]

    async def truncate_wal(self) -> bool:
        """No SQLite WAL here; dead row versions go with (auto)vacuum (see the deploy guide)."""
        return True


def _stack(rows: Sequence[Any]) -> tuple[list[int], np.ndarray]:
    nums = [r[0] for r in rows]
    if not rows:
        return nums, np.zeros((0, 0), dtype=np.float32)
    return nums, np.stack([as_array(r[1]) for r in rows])

