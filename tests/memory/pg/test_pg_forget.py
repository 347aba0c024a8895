"""Forget races the work queued for a user on PostgreSQL: nothing of the user survives.

The PostgreSQL twin of tests/memory/test_forget_race.py (which also checks SQLite's file
bytes): jobs queued through the real worker, a turn recorded after the forget began, a direct
add that began before it; then no row of any table mentions the user or their words.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from daemon.memory.store import Exchange
from daemon.memory.worker import MemoryWorker
from tests.support import postgres

pytestmark = [pytest.mark.postgresql_only, pytest.mark.timeout(300)]
ROUNDS = 30


class SlowExtractor:
    """Extraction taking a random few milliseconds; every user line is one fact."""

    name = "slow-scripted"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    async def complete_json(self, messages, schema, *, max_tokens, timeout_s) -> str:
        import json

        await asyncio.sleep(self.rng.uniform(0, 0.02))
        lines = [ln[6:] for ln in messages[-1]["content"].splitlines() if ln.startswith("user: ")]
        return json.dumps({"facts": lines})

    async def stream_chat(self, *a, **k):
        yield ""

    async def close(self) -> None:
        pass


async def test_forget_wins_every_race_on_postgresql(open_memory, fake) -> None:
    rng = random.Random(7)
    mem = await open_memory(fake, SlowExtractor(rng), decisions="add_only")
    dsn = mem.store.dsn
    worker = MemoryWorker(mem, concurrency=2, backoff_s=0.01, poll_s=0.01)
    await worker.start()
    keeper = await mem.add("The neighbour keeps bees", user_id="keeper", infer=False)
    try:
        for i in range(ROUNDS):
            user, marker = f"user-{i}", f"PIN{i:04d}QZX"
            words = f"My PIN code is {marker} and my wife is called Maria."
            for _ in range(rng.randint(1, 3)):
                await worker.enqueue([{"role": "user", "content": words}], user_id=user)
            since = await mem.store.forget_mark()
            direct = asyncio.ensure_future(mem.add(words, user_id=user, infer=False))
            await asyncio.sleep(rng.uniform(0, 0.03))
            await mem.delete_all(user_id=user)
            await mem.store.record_exchanges([Exchange(
                "s", user, None, words, "Noted.", False,
                worker.payload([{"role": "user", "content": words}], user_id=user), since)])
            await direct
            assert await worker.wait_idle(30)
            assert await postgres.rows_mentioning(dsn, "keeps bees")  # the check can see rows
            assert await postgres.rows_mentioning(dsn, marker) == {}, i
            assert await postgres.rows_mentioning(dsn, user) == {}, i
            hits = await mem.search("PIN code wife", user_id=user)
            assert hits["results"] == []
    finally:
        await worker.stop()
    assert (await mem.get(keeper["results"][0]["id"]))["memory"] == "The neighbour keeps bees"
