"""PgStore implements the ``MemoryStore`` interface exactly (same methods, same signatures)."""

from __future__ import annotations

from daemon.memory.pg import PgStore
from tests.support.store_checks import check_one_writer_of_jobs, check_signatures


def test_pg_store_has_every_method_with_the_same_signature() -> None:
    check_signatures(PgStore)


async def test_a_real_pg_store_is_a_memory_store(pg_server) -> None:
    store = PgStore(pg_server.new_dsn(), dim=4)
    await store.open()
    try:
        await check_one_writer_of_jobs(store)
    finally:
        await store.close()
