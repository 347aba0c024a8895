"""Many coroutines at once: adds of several users, searches, the worker and enqueues share
one Memory; nothing is lost, nothing leaks, and the saved index matches the database."""

from __future__ import annotations

import asyncio
import logging

import pytest

from daemon.memory.worker import MemoryWorker
from tests.support.memory_fakes import scripted

pytestmark = pytest.mark.both_backends


async def test_concurrent_adds_searches_and_worker(open_memory, caplog):
    mem = await open_memory(llm=scripted())
    worker = MemoryWorker(mem, backoff_s=0.01, max_attempts=2, poll_s=0.05)
    await worker.start()
    users = [f"user{i}" for i in range(4)]

    async def writer(user: str) -> list[str]:
        ids = []
        for j in range(8):
            r = await mem.add(f"{user} fact {j} about topic {j % 3}", user_id=user, infer=False)
            ids.append(r["results"][0]["id"])
            await worker.enqueue([{"role": "user", "content": f"{user} queued fact {j}"}],
                                 user_id=user)
        return ids

    async def reader(user: str) -> None:
        for _ in range(10):
            hits = (await mem.search("fact topic", user_id=user, limit=50))["results"]
            assert all(h["user_id"] == user for h in hits)
            await asyncio.sleep(0)

    results = await asyncio.gather(*(writer(u) for u in users), *(reader(u) for u in users))
    assert await worker.wait_idle(timeout=60)
    await worker.stop()
    for user, ids in zip(users, results[: len(users)]):
        listed = (await mem.get_all(user_id=user, limit=1000))["results"]
        assert {r["id"] for r in listed} >= set(ids)
        assert len(listed) == 16  # 8 direct + 8 from the worker
        assert all(r["user_id"] == user for r in listed)
        hits = (await mem.search("fact", user_id=user, limit=100))["results"]
        assert {h["id"] for h in hits} == {r["id"] for r in listed}
    assert {j.state for j in await mem.store.jobs(states=("pending", "running", "parked",
                                                          "done"), limit=1000)} == {"done"}
    await mem.close()

    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        mem2 = await open_memory(llm=scripted())
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
    for user in users:
        hits = (await mem2.search("fact", user_id=user, limit=100))["results"]
        assert len(hits) == 16
