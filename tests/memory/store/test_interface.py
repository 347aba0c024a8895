"""The ``MemoryStore`` interface: SqliteStore implements it exactly, and it shows no SQL."""

from __future__ import annotations

from pathlib import Path

from daemon.memory.store import SqliteStore
from tests.support.store_checks import (
    PROTOCOL_METHODS,
    check_one_writer_of_jobs,
    check_signatures,
)


def test_the_interface_lists_what_the_engine_needs_and_no_connection() -> None:
    assert {"apply", "forget_scope", "claim_job", "record_exchanges", "history"} \
        <= set(PROTOCOL_METHODS)
    assert not {"tx", "w", "r", "path"} & set(PROTOCOL_METHODS)


def test_sqlite_store_has_every_method_with_the_same_signature() -> None:
    check_signatures(SqliteStore)


async def test_a_real_sqlite_store_is_a_memory_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.sqlite3")
    await store.open()
    try:
        await check_one_writer_of_jobs(store)
    finally:
        await store.close()
