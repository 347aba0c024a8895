"""PgStore implements the ``MemoryStore`` interface exactly (same methods, same signatures)."""

from __future__ import annotations

import inspect

from daemon.memory.pg import PgStore
from daemon.memory.store import JOB_EXTRACT, Exchange, MemoryStore
from daemon.memory.store.base import MemoryStore as BaseProtocol

PROTOCOL_METHODS = sorted(
    name for name, value in vars(BaseProtocol).items()
    if not name.startswith("_") and (callable(value) or isinstance(value, property))
)


def test_pg_store_has_every_method_with_the_same_signature() -> None:
    for name in PROTOCOL_METHODS:
        want = getattr(MemoryStore, name)
        got = getattr(PgStore, name)
        if isinstance(want, property):
            assert isinstance(got, property), name
            continue
        assert inspect.iscoroutinefunction(got), f"{name} must be async"
        assert inspect.signature(got) == inspect.signature(want), name


async def test_a_real_pg_store_is_a_memory_store(pg_server) -> None:
    store = PgStore(pg_server.new_dsn(), dim=4)
    assert isinstance(store, MemoryStore)
    await store.open()
    try:
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
