"""A write cancelled at any await point (a client hanging up on a REST call, shutdown of the
worker) leaves no transaction open on the shared writer connection: the next write works,
another process can write, and what was committed is consistent (all of the add or none of
it, and search agrees with get_all).

The crash test caught "cannot start a transaction within a transaction" after
MemoryWorker.stop() cancelled a claim_job() whose BEGIN was still queued; b881cdd made
SqliteStore.tx() cancellation-safe. This pins it down deterministically.
"""

from __future__ import annotations

import asyncio
import sqlite3

from tests.support.memory_fakes import db_path


async def test_cancel_a_write_at_every_await(open_memory, data_dir):
    mem = await open_memory()
    outcomes = set()
    for steps in range(70):
        text = f"Note {steps}"
        task = asyncio.create_task(mem.add(text, user_id="alice", infer=False))
        if steps < 40:  # every await point of the first few...
            for _ in range(steps):
                await asyncio.sleep(0)
        else:  # ...then later, while statements run on aiosqlite's thread
            await asyncio.sleep((steps - 40) * 0.0007)
        task.cancel()
        try:
            await task
            outcomes.add("finished")
        except asyncio.CancelledError:
            outcomes.add("cancelled")
        # The next write works (a COMMIT or ROLLBACK shielded from the cancel may still be
        # queued on the connection's thread: it runs before this BEGIN), and after it no
        # transaction is open, so another process can take the write lock at once.
        await mem.store.enqueue("extract", "alice", {"n": steps})
        assert not mem.store.w.in_transaction, f"transaction left open after {steps} steps"
        other = sqlite3.connect(db_path(data_dir), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        # What is stored is whole.
        rows = [r for r in (await mem.get_all(user_id="alice", limit=1000))["results"]
                if r["memory"] == text]
        assert len(rows) <= 1
        for row in rows:
            assert [h["event"] for h in await mem.history(row["id"])] == ["ADD"]
        everything = {r["id"] for r in (await mem.get_all(user_id="alice", limit=1000))["results"]}
        found = {r["id"] for r in (await mem.search("Note", user_id="alice", limit=1000,
                                                   threshold=-1.0))["results"]}
        assert found == everything, f"search and get_all differ after {steps} steps"
    assert outcomes == {"finished", "cancelled"}


async def test_cancel_worker_stop_mid_claim(open_memory):
    """Stopping the worker while it polls for jobs, many times: no write is left hanging."""
    from daemon.memory.worker import MemoryWorker

    mem = await open_memory()
    for i in range(30):
        worker = MemoryWorker(mem, poll_s=0.001)
        await worker.start()
        await asyncio.sleep(0.001 * (i % 5))
        await worker.stop()
        await mem.store.enqueue("extract", "alice", {"n": i})
        assert not mem.store.w.in_transaction
