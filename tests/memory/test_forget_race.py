"""Forget races the work queued for a user, 200 times: nothing of the user survives.

Each round queues extraction jobs for a new user (through the real worker), records a turn
(messages + job, as a device turn does), starts a direct add, then forgets the user at a random
moment (before, during or after the worker runs them). Afterwards nothing of that user is in
any table, in the index, or in the bytes of the database file and its WAL.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from daemon.llm.base import ChatMessage
from daemon.memory.store import EPISODE, FACT, Exchange, partition_of
from daemon.memory.worker import MemoryWorker
from tests.support.forgotten import files_containing, rows_mentioning

ROUNDS = 200


class SlowExtractor:
    """Extraction that takes a random few milliseconds; every user line is one fact."""

    name = "slow-scripted"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    async def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any], *,
                            max_tokens: int, timeout_s: float) -> str:
        await asyncio.sleep(self.rng.uniform(0, 0.02))
        lines = messages[-1]["content"].splitlines()
        return json.dumps({"facts": [ln[6:] for ln in lines if ln.startswith("user: ")]})

    async def stream_chat(self, messages: Sequence[ChatMessage], **kw: Any) -> AsyncIterator[str]:
        yield ""

    async def close(self) -> None:
        pass


async def test_forget_wins_every_race(open_memory, fake, data_dir) -> None:
    rng = random.Random(12)
    mem = await open_memory(fake, SlowExtractor(rng), decisions="add_only")
    worker = MemoryWorker(mem, concurrency=2, backoff_s=0.01, poll_s=0.01)
    await worker.start()
    db = mem.store.path
    keeper = await mem.add("The neighbour keeps bees", user_id="keeper", infer=False)
    outcomes = {"forget before the jobs ran": 0, "forget after some work": 0}
    try:
        for i in range(ROUNDS):
            user, marker = f"user-{i}", f"PIN{i:04d}QZX"
            words = f"My PIN code is {marker} and my wife is called Maria."
            for _ in range(rng.randint(1, 3)):
                await worker.enqueue([{"role": "user", "content": words}], user_id=user)
            since = await mem.store.forget_mark()  # a turn begins ...
            marked = asyncio.Event()
            direct = asyncio.ensure_future(_add_after_mark(mem, words, user, marked))
            await marked.wait()  # (the add has taken its mark: it began before the forget)
            await asyncio.sleep(rng.uniform(0, 0.03))
            done_before = await _done_jobs(mem, user)
            await mem.delete_all(user_id=user)
            # ... and is recorded after the forget: dropped.
            await mem.store.record_exchanges([Exchange(
                "s", user, None, words, "Noted.", False,
                worker.payload([{"role": "user", "content": words}], user_id=user), since)])
            await direct
            assert await worker.wait_idle(30)
            outcomes["forget after some work" if done_before else
                     "forget before the jobs ran"] += 1

            assert rows_mentioning(db, user) == {}, (i, rows_mentioning(db, user))
            assert rows_mentioning(db, marker) == {}
            jobs = await mem.store.jobs(("pending", "running", "parked", "done"), 10_000)
            assert all(j.user_id != user for j in jobs)
            for kind in (FACT, EPISODE):
                index = mem.indexes.get(partition_of(user, kind))
                assert index is None or len(index) == 0
            assert files_containing(db, marker) == [], (i, files_containing(db, marker))
    finally:
        await worker.stop()
    # Both sides of the race were exercised, and nobody else's memory was touched.
    print(outcomes)
    assert all(outcomes.values()), outcomes
    assert (await mem.get(keeper["results"][0]["id"]))["memory"] == "The neighbour keeps bees"
    await mem.save_indexes()
    assert not list(mem.indexes.folder.glob("*user-*"))


async def _add_after_mark(mem: Any, words: str, user: str, marked: asyncio.Event) -> None:
    original = mem.store.forget_mark

    async def mark() -> int:
        value = await original()
        marked.set()
        return value

    mem.store.forget_mark = mark
    try:
        await mem.add(words, user_id=user, infer=False)
    finally:
        mem.store.forget_mark = original


async def _done_jobs(mem: Any, user: str) -> int:
    return sum(j.user_id == user for j in await mem.store.jobs(("done",), 10_000))


class BlockingExtractor(SlowExtractor):
    """Extraction that waits until it is cancelled (a slow local model)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any], *,
                            max_tokens: int, timeout_s: float) -> str:
        self.entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return "{}"


async def test_forget_stops_the_users_running_job(open_memory, fake) -> None:
    llm = BlockingExtractor()
    mem = await open_memory(fake, llm, decisions="add_only")
    worker = MemoryWorker(mem, poll_s=0.01)
    await worker.start()
    try:
        await worker.enqueue([{"role": "user", "content": "My PIN is PIN9999QZX"}],
                             user_id="slow")
        await asyncio.wait_for(llm.entered.wait(), 10)  # the job is in the model
        await mem.delete_all(user_id="slow")
        await asyncio.wait_for(llm.cancelled.wait(), 10)  # ... and stopped by the forget
        assert worker.stopped_by_forget == 1
        assert await worker.wait_idle(10)
        assert rows_mentioning(mem.store.path, "slow") == {}
        assert rows_mentioning(mem.store.path, "PIN9999QZX") == {}
    finally:
        await worker.stop()
