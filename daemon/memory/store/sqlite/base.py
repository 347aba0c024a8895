"""The SQLite store's connections, transactions and index generations.

One writer connection serialises every change; a second connection serves reads so the
hot path never waits behind a write (WAL lets them run side by side). ``synchronous=FULL``
so that a committed memory survives a power cut, not only a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from daemon.memory.store.records import Scope
from daemon.memory.store.sqlite import forget
from daemon.memory.store.sqlite.schema import migrate


def scope_sql(scope: Scope, params: list[Any], table: str = "") -> str:
    """The WHERE condition of a scope (its values appended to ``params``)."""
    parts = []
    for col, value in scope.columns():
        parts.append(f"{table}{col} = ?")
        params.append(value)
    return " AND ".join(parts) if parts else "1"


def _daemon_thread(conn: aiosqlite.Connection) -> aiosqlite.Connection:
    """aiosqlite's worker thread as a daemon thread: a script that never calls ``close()``
    (mem0's never do) still exits. Every commit is already on disk (synchronous=FULL)."""
    with contextlib.suppress(AttributeError, RuntimeError):
        conn.daemon = True  # a Thread subclass in aiosqlite < 0.21
    thread = getattr(conn, "_thread", None)
    if thread is not None:  # aiosqlite >= 0.21 holds its thread
        with contextlib.suppress(RuntimeError):
            thread.daemon = True
    return conn


class SqliteBase:
    """Connections, the write lock, ``tx()`` and the meta table; the store's other parts
    build on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        # Coroutines share the writer connection: a transaction must own it until it ends.
        self._wlock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn)
        self._w = await _daemon_thread(aiosqlite.connect(self.path, isolation_level=None))
        self._r = await _daemon_thread(aiosqlite.connect(self.path, isolation_level=None))
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
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            await asyncio.shield(self.w.execute("COMMIT"))

    async def _rollback(self) -> None:
        try:
            await self.w.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction was open (BEGIN itself failed, or COMMIT already ran)

    async def get_meta(self, key: str) -> str | None:
        async with self.r.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def generation(self, partition: str) -> int:
        value = await self.get_meta(f"index_gen:{partition}")
        return int(value) if value else 0

    async def _bump(self, partitions: Iterable[str]) -> None:
        """New generations for these partitions' indexes, from one counter for all: a
        partition whose key a forget removed never gets back a generation it had before.
        Inside the caller's transaction."""
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

    async def truncate_wal(self) -> bool:
        async with self._wlock:  # no write may start while the log is emptied
            return await forget.truncate_wal(self.w)
