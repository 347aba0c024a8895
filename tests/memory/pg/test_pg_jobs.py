"""The shared job queue on a real PostgreSQL: worker processes, per-user order, leases."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.memory.memory import AsyncMemory
from daemon.memory.pg import PgStore
from daemon.memory.worker import MemoryWorker
from tests.support import postgres
from tests.support.pg_worker import DIM, SlowLLM, WordEmbedder

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[3]
WORDS = ("apple", "bridge", "cello", "desert", "engine", "forest")


def _msgs(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "OK"}]


def _spawn(dsn: str, name: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.support.pg_worker", dsn, name,
                             "--log", str(log), *extra], cwd=ROOT, env=env)


def _lines(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines() if x.strip()]


async def _until(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, f"{what} not reached in time"
        await asyncio.sleep(0.1)


@pytest.fixture
async def pg_memory(pg_server, tmp_path):
    """A Memory on a fresh database (no worker of its own), for queueing and checking."""
    dsn = pg_server.new_dsn()
    memory = AsyncMemory(PgStore(dsn, dim=DIM), WordEmbedder(), None, index_dir=tmp_path / "i")
    await memory.start(save_interval_s=0)
    yield memory, dsn
    await memory.close()


async def test_two_worker_processes_keep_each_users_order(pg_memory, tmp_path):
    memory, dsn = pg_memory
    users = [f"user{u}" for u in range(4)]
    for i in range(6):
        for u in users:
            await memory.store.enqueue("extract", u, MemoryWorker.payload(
                _msgs(f"{u} likes {WORDS[i]}"), user_id=u))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_spawn(dsn, "a", logs[0]), _spawn(dsn, "b", logs[1])]
    try:
        async def done() -> bool:
            return not await memory.jobs(("pending", "running"), 1)
        await _until(done, what="all jobs done")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    for u in users:  # facts land in the order they were said (num order = apply order)
        got = [r["memory"] for r in (await memory.get_all(user_id=u))["results"]]
        assert got == [f"{u} likes {WORDS[i]}" for i in range(6)]
    by_worker = [[x["text"] for x in _lines(log) if x["what"] == "extract"] for log in logs]
    assert all(by_worker), f"both workers should have taken jobs: {by_worker}"
    assert sorted(by_worker[0] + by_worker[1]) == sorted(
        f"{u} likes {WORDS[i]}" for u in users for i in range(6))  # each job extracted once
    states = {j.state for j in await memory.jobs(("pending", "running", "parked", "done"), 100)}
    assert states == {"done"}


async def test_a_killed_workers_job_is_retaken_after_its_lease_and_applied_once(
        pg_memory, tmp_path):
    memory, dsn = pg_memory
    job = await memory.store.enqueue("extract", "u1", MemoryWorker.payload(
        _msgs("Plays the cello"), user_id="u1"))
    later = await memory.store.enqueue("extract", "u1", MemoryWorker.payload(
        _msgs("Lives in Lyon"), user_id="u1"))
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = _spawn(dsn, "a", log_a, "--lease", "2", "--slow", "cello")
    try:
        async def a_took_it() -> bool:
            return any(x["what"] == "extract" and "cello" in str(x["text"]) for x in _lines(log_a))
        await _until(a_took_it, what="worker a running the job")
        b = _spawn(dsn, "b", log_b, "--lease", "2")
        async def b_ready() -> bool:
            return any(x["what"] == "ready" for x in _lines(log_b))
        await _until(b_ready, what="worker b ready")
        # The job is a's: b must not take it (nor the user's later job) while a's lease lives,
        # even past the lease's first 2 s (a renews it while the job runs).
        await asyncio.sleep(3.0)
        assert (await memory.store.get_job(job)).state == "running"
        assert [x for x in _lines(log_b) if x["what"] == "extract"] == []
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)

        async def both_done() -> bool:
            return [(await memory.store.get_job(j)).state for j in (job, later)] == ["done"] * 2
        await _until(both_done, what="the killed worker's job done by b")
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    assert (await memory.store.get_job(job)).attempts == 2
    facts = [r["memory"] for r in (await memory.get_all(user_id="u1"))["results"]]
    assert facts == ["Plays the cello", "Lives in Lyon"]  # once each, in order
    episodes = [r["memory"] for r in (await memory.get_all(user_id="u1", kind="episode"))["results"]]
    assert episodes == ["Plays the cello", "Lives in Lyon"]
    b_took = [x["text"] for x in _lines(log_b) if x["what"] == "extract"]
    assert b_took == ["Plays the cello", "Lives in Lyon"]


async def test_a_stalled_worker_whose_job_was_retaken_applies_nothing(pg_server, tmp_path):
    dsn = pg_server.new_dsn()
    stores = [PgStore(dsn, dim=DIM, lease_s=30), PgStore(dsn, dim=DIM, lease_s=30)]
    mems = [AsyncMemory(s, WordEmbedder(), SlowLLM(None, tmp_path / f"{i}.log"),
                   index_dir=tmp_path / f"i{i}") for i, s in enumerate(stores)]
    for m in mems:
        await m.start(save_interval_s=0)
    try:
        job_id = await stores[0].enqueue("extract", "u1", {"x": 1})
        first = await stores[0].claim_job()
        assert first is not None and first.id == job_id
        assert await stores[1].claim_job() is None  # held: nobody else takes it
        # The first holder stalls past its lease (a long GC pause, a frozen VM).
        await postgres.execute(dsn, "UPDATE jobs SET lease_until = 0 WHERE id = $1", job_id)
        second = await stores[1].claim_job()
        assert second is not None and second.id == job_id and second.attempts == 2
        await mems[1].add("Has a red bike", user_id="u1", _job=job_id)
        # The stalled worker wakes up and tries to apply and complete the same job.
        # (Its model heard something else: any effect of it would show.)
        out = await mems[0].add("Drives a green van", user_id="u1", _job=job_id)
        assert out["results"] == []
        facts = [r["memory"] for r in (await mems[0].get_all(user_id="u1"))["results"]]
        assert facts == ["Has a red bike"]
        assert (await stores[0].get_job(job_id)).state == "done"
    finally:
        for m in mems:
            await m.close()
