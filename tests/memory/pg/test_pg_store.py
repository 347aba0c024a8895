"""PgStore on a real PostgreSQL + pgvector: migrations, HNSW vs exact, restart, bad DSN."""

from __future__ import annotations

import asyncio

import asyncpg
import numpy as np
import pytest

from daemon.memory.memory import AsyncMemory
from daemon.memory.pg import PgStore
from daemon.memory.pg.schema import SCHEMA_VERSION
from daemon.memory.store import FACT, Change, Scope
from tests.support import postgres


async def test_several_servers_starting_at_once_migrate_once(pg_server):
    dsn = pg_server.new_dsn()
    stores = [PgStore(dsn, dim=8) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        conn = await asyncpg.connect(dsn)
        assert [r[0] for r in await conn.fetch("SELECT version FROM schema_version")] == list(
            range(1, SCHEMA_VERSION + 1))
        indexes = [r[0] for r in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'memories'")]
        assert "memories_hnsw_8" in indexes
        # A newer schema than this program knows: a clear error, nothing changed.
        await conn.execute("INSERT INTO schema_version VALUES (999)")
        await conn.close()
        with pytest.raises(RuntimeError, match="newer than this program"):
            await PgStore(dsn, dim=8).open()
    finally:
        for s in stores:
            await s.close()


async def test_a_wrong_dsn_is_a_clear_error(pg_server):
    bad = pg_server.dsn("no_such_database")
    with pytest.raises(asyncpg.InvalidCatalogNameError, match="no_such_database"):
        await PgStore(bad, dim=8).open()


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def test_hnsw_finds_a_small_users_memories_inside_a_big_table(pg_server, monkeypatch):
    """3000 vectors of one user, 12 of another. The big user's search walks the HNSW graph and
    agrees with exact search; the small one is searched exactly (EXACT_BELOW), and even when
    made to walk the shared graph (iterative scan) it gets its own 10 nearest."""
    from daemon.memory.pg import store as pg_store

    dim, rng = 32, np.random.default_rng(3)
    store = PgStore(pg_server.new_dsn(), dim=dim)
    await store.open()
    try:
        big, small = _unit(rng, 3000, dim), _unit(rng, 12, dim)
        for start in range(0, 3000, 500):
            await store.apply([Change("ADD", text=f"big {i}", embedding=big[i],
                                      scope=Scope("big"), embedder="x")
                               for i in range(start, start + 500)])
        await store.apply([Change("ADD", text=f"small {i}", embedding=small[i],
                                  scope=Scope("small"), embedder="x") for i in range(12)])
        async with store.tx() as conn:  # the planner must use the graph for this query shape
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("ANALYZE memories")
            plan = "\n".join(r[0] for r in await conn.fetch(
                "EXPLAIN SELECT num FROM memories WHERE vector_dims(embedding) = 32 AND "
                "valid_to IS NULL ORDER BY embedding::vector(32) <=> $1::vector(32) LIMIT 5",
                small[0]))
        assert "memories_hnsw_32" in plan
        q = small[3] + 0.1 * _unit(rng, 1, dim)[0]
        q /= np.linalg.norm(q)
        exact = await store.vector_search(Scope("small", kind=FACT), q, 10,
                                          filters={"user_id": "small"})
        for below in (pg_store.EXACT_BELOW, 5):  # exact, then the graph walk
            monkeypatch.setattr(pg_store, "EXACT_BELOW", below)
            hits = await store.vector_search(Scope("small", kind=FACT), q, 10)
            assert [n for n, _ in hits] == [n for n, _ in exact]
        rows = await store.get_by_nums([exact[0][0]])
        assert rows[exact[0][0]].text == "small 3"
        assert exact[0][1] == pytest.approx(float(small[3] @ q), abs=1e-5)
        monkeypatch.setattr(pg_store, "EXACT_BELOW", 2000)
        qb = big[42] + 0.1 * _unit(rng, 1, dim)[0]
        qb /= np.linalg.norm(qb)
        graph = await store.vector_search(Scope("big", kind=FACT), qb, 10)
        truth = await store.vector_search(Scope("big", kind=FACT), qb, 10,
                                          filters={"user_id": "big"})
        assert graph[0] == pytest.approx(truth[0])  # the nearest one, and its score
        assert len({n for n, _ in graph} & {n for n, _ in truth}) >= 8
    finally:
        await store.close()


async def test_memories_survive_a_restart_and_a_second_process_sees_writes_at_once(
        pg_server, e5, tmp_path):
    dsn = pg_server.new_dsn()
    a = AsyncMemory(PgStore(dsn, dim=e5.dim), e5, None, index_dir=tmp_path / "a")
    b = AsyncMemory(PgStore(dsn, dim=e5.dim), e5, None, index_dir=tmp_path / "b")
    await a.start(save_interval_s=0)
    await b.start(save_interval_s=0)
    try:
        added = await a.add("我女儿叫小红，今年五岁", user_id="家", infer=False)
        await a.add("Likes green tea", user_id="家", infer=False)
        hits = (await b.search("女儿多大了？", user_id="家", limit=1))["results"]
        assert hits[0]["id"] == added["results"][0]["id"]
        await b.update(added["results"][0]["id"], "我女儿叫小红，今年六岁")
        assert (await a.get(added["results"][0]["id"]))["memory"] == "我女儿叫小红，今年六岁"
    finally:
        await a.close()
        await b.close()
    c = AsyncMemory(PgStore(dsn, dim=e5.dim), e5, None, index_dir=tmp_path / "c")
    await c.start(save_interval_s=0)
    try:
        got = (await c.search("What does the user drink?", user_id="家", limit=1))["results"]
        assert [h["memory"] for h in got] == ["Likes green tea"]
        assert [h["event"] for h in await c.history(added["results"][0]["id"])] == ["ADD", "UPDATE"]
    finally:
        await c.close()
    assert not list(tmp_path.glob("*/*.bin"))  # no hnswlib files: the index is in PostgreSQL
    assert await postgres.rows_mentioning(dsn, "小红")
