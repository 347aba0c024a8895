"""Checks every ``MemoryStore`` implementation must pass (SQLite and PostgreSQL)."""

from __future__ import annotations

import inspect
from typing import Any

from daemon.memory.store import JOB_EXTRACT, Exchange, MemoryStore
from daemon.memory.store.base import MemoryStore as BaseProtocol

PROTOCOL_METHODS = sorted(
    name for name, value in vars(BaseProtocol).items()
    if not name.startswith("_") and (callable(value) or isinstance(value, property))
)


def check_signatures(store_class: type) -> None:
    """``store_class`` has every interface method, async, with the interface's signature."""
    for name in PROTOCOL_METHODS:
        want = getattr(MemoryStore, name)
        got = getattr(store_class, name)
        if isinstance(want, property):
            assert isinstance(got, property), name
            continue
        assert inspect.iscoroutinefunction(got), f"{name} must be async"
        assert inspect.signature(got) == inspect.signature(want), name


async def check_one_writer_of_jobs(store: Any) -> None:
    """An opened store: both ways a job is queued write the same row shape."""
    assert isinstance(store, MemoryStore)
    queued = await store.enqueue(JOB_EXTRACT, "alice", {"messages": []})
    await store.record_exchanges([Exchange("s1", "bob", None, "hi", "hello", False,
                                           {"messages": [], "user_id": "bob"})])
    jobs = await store.jobs()
    assert [(j.id, j.kind, j.user_id) for j in jobs] == [
        (queued, JOB_EXTRACT, "alice"), (queued + 1, JOB_EXTRACT, "bob")]
    assert jobs[1].payload == {"messages": [], "user_id": "bob"}
    assert [m["content"] for m in await store.recent_messages("s1", 5)] == ["hi", "hello"]
