"""The SQLite store's memory reads: rows by id, scope, filters, keywords and vectors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.memory.filters import Filters, compile_filters
from daemon.memory.store.records import MemoryRow, Scope, partition_of, split_partition
from daemon.memory.store.sqlite.base import SqliteBase, scope_sql

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


class MemoryReads(SqliteBase):
    """Reads of the memories table (and the re-embedding of stale vectors)."""

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
        filters: Filters = None,
        *,
        limit: int | None = 100,
        offset: int = 0,
        include_closed: bool = False,
        newest_first: bool = False,
    ) -> list[MemoryRow]:
        params: list[Any] = []
        where = [scope_sql(scope, params), compile_filters(filters, params)]
        if not include_closed:
            where.append("valid_to IS NULL")
        sql = f"SELECT {_COLS} FROM memories WHERE {' AND '.join(where)} ORDER BY num"
        sql += " DESC" if newest_first else ""
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        async with self.r.execute(sql, params) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int:
        params: list[Any] = []
        sql = f"SELECT count(*) FROM memories WHERE {scope_sql(scope, params)}"
        if not include_closed:
            sql += " AND valid_to IS NULL"
        async with self.r.execute(sql, params) as cur:
            (n,) = await cur.fetchone()  # type: ignore[misc]
        return int(n)

    async def filter_nums(
        self, nums: Sequence[int], scope: Scope, filters: Filters
    ) -> dict[int, MemoryRow]:
        """The rows among ``nums`` that are live, in scope and pass the filters."""
        if not nums:
            return {}
        params: list[Any] = list(nums)
        marks = ",".join("?" for _ in nums)
        where = f"num IN ({marks}) AND valid_to IS NULL AND {scope_sql(scope, params)}"
        where += f" AND {compile_filters(filters, params)}"
        async with self.r.execute(f"SELECT {_COLS} FROM memories WHERE {where}", params) as cur:
            return {r[0]: _row(r) for r in await cur.fetchall()}

    async def keyword_search(self, match: str, scope: Scope, limit: int) -> list[int]:
        """Nums of live memories in scope matching an FTS5 query over words, best BM25 first."""
        if not match:
            return []
        params: list[Any] = [match]
        sql = (
            "SELECT m.num FROM memories_words f JOIN memories m ON m.num = f.rowid WHERE "
            f"memories_words MATCH ? AND m.valid_to IS NULL AND {scope_sql(scope, params, 'm.')} "
            "ORDER BY bm25(memories_words) LIMIT ?"
        )
        params.append(limit)
        try:
            async with self.r.execute(sql, params) as cur:
                return [r[0] for r in await cur.fetchall()]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse finds nothing
            return []

    async def embeddings(
        self, scope: Scope, filters: Filters = None
    ) -> tuple[list[int], np.ndarray]:
        """Live memories' labels and vectors in a scope (exact search, index rebuilds)."""
        params: list[Any] = []
        where = f"{scope_sql(scope, params)} AND {compile_filters(filters, params)}"
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
