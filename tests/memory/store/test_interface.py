"""The ``MemoryStore`` interface: SqliteStore implements it exactly, and it shows no SQL."""

from __future__ import annotations

import inspect
from pathlib import Path

from daemon.memory.store import JOB_EXTRACT, Exchange, MemoryStore, SqliteStore
from daemon.memory.store.base import MemoryStore as BaseProtocol

PROTOCOL_METHODS = sorted(
    name for name, value in vars(BaseProtocol).items()
    if not name.startswith("_") and (callable(value) or isinstance(value, property))
)


def test_the_interface_lists_what_the_engine_needs_and_no_connection() -> None:
    assert {"apply", "forget_scope", "claim_job", "record_exchanges", "history"} \
        <= set(PROTOCOL_METHODS)
    assert not {"tx", "w", "r", "path"} & set(PROTOCOL_METHODS)


def test_sqlite_store_has_every_method_with_the_same_signature() -> None:
    for name in PROTOCOL_METHODS:
        want = getattr(MemoryStore, name)
        got = getattr(SqliteStore, name)
        if isinstance(want, property):
            assert isinstance(got, property), name
            continue
        assert inspect.iscoroutinefunction(got), f"{name} must be async"
        assert inspect.signature(got) == inspect.signature(want), name


async def test_a_real_sqlite_store_is_a_memory_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.sqlite3")
    assert isinstance(store, MemoryStore)
    await store.open()
    try:
        # Both ways a job is queued write the same row shape (one writer of the jobs row).
        queued = await store.enqueue(JOB_EXTRACT, "alice", {"messages": []})
        await store.record_exchanges([Exchange("s1", "bob", None, "hi", "hello", False,
                                               {"messages": [], "user_id": "bob"})])
        jobs = await store.jobs()
        assert [(j.id, j.kind, j.user_id) for j in jobs] == [
            (queued, JOB_EXTRACT, "alice"), (queued + 1, JOB_EXTRACT, "bob")]
        assert jobs[1].payload == {"messages": [], "user_id": "bob"}
        assert [m["content"] for m in await store.recent_messages("s1", 5)] == ["hi", "hello"]
    finally:
        await store.close()
