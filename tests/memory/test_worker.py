"""The durable job queue worker: per-user order, retries and parking, restarts."""

from __future__ import annotations

import asyncio

import pytest

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.worker import MemoryWorker
from tests.support.memory_fakes import extraction_calls, raw_db, scripted

pytestmark = pytest.mark.timeout(60)


def _msgs(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "OK"}]


def _update_moves(existing, fact):
    """Decide like a model: a move updates the memory about where the user lives."""
    if fact.startswith("Moved to "):
        for e in existing:
            if e["text"].startswith("Lives in"):
                return [{"event": "UPDATE", "id": e["id"],
                         "text": "Lives in " + fact.removeprefix("Moved to ")}]
    return [{"event": "ADD", "id": "new", "text": fact}]


async def _until(predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def make_worker():
    workers: list[MemoryWorker] = []

    def _make(mem, **kw) -> MemoryWorker:
        kw.setdefault("backoff_s", 0.01)
        kw.setdefault("max_attempts", 2)
        kw.setdefault("poll_s", 0.05)
        w = MemoryWorker(mem, **kw)
        workers.append(w)
        return w

    yield _make
    for w in workers:  # those a test started and did not stop itself
        if w._main is not None and not w._main.done():
            await w.stop()


async def test_two_users_in_order(open_memory, make_worker):
    llm = scripted(decide=_update_moves)
    mem = await open_memory(llm=llm)
    worker = make_worker(mem)
    jobs = [
        await worker.enqueue(_msgs("Lives in Berlin"), user_id="u1"),
        await worker.enqueue(_msgs("Likes tea"), user_id="u2"),
        await worker.enqueue(_msgs("Moved to Munich"), user_id="u1", metadata={"src": "t"}),
        await worker.enqueue(_msgs("Has a bike"), user_id="u2", agent_id="coach"),
    ]
    await worker.start()
    assert await worker.wait_idle(timeout=30)
    u1 = (await mem.get_all(user_id="u1"))["results"]
    # Per-user order: the move was decided after "Lives in Berlin" was stored.
    assert [r["memory"] for r in u1] == ["Lives in Munich"]
    u2 = (await mem.get_all(user_id="u2"))["results"]
    assert sorted(r["memory"] for r in u2) == ["Has a bike", "Likes tea"]
    assert [r["memory"] for r in (await mem.get_all(user_id="u2", agent_id="coach"))
            ["results"]] == ["Has a bike"]
    done = await mem.store.jobs(states=("done",))
    assert sorted(j.id for j in done) == sorted(jobs)
    assert all(j.attempts == 1 and j.last_error is None for j in done)
    assert await mem.store.jobs() == []  # nothing pending, running or parked
    assert worker.completed == 4 and worker.failed == 0


async def test_poison_job_is_parked_and_others_complete(open_memory, make_worker, caplog):
    llm = scripted(facts=lambda line: "this is not JSON" if "POISON" in line else [line])
    mem = await open_memory(llm=llm, llm_retries=0)
    worker = make_worker(mem)
    bad = await worker.enqueue(_msgs("POISON pill"), user_id="bad")
    after_bad = await worker.enqueue(_msgs("Bad user later fact"), user_id="bad")
    good = [await worker.enqueue(_msgs(f"Good fact {i}"), user_id="good") for i in range(3)]
    await worker.start()

    async def parked():
        return bool(await mem.store.jobs(states=("parked",)))

    await _until(parked)
    assert await worker.wait_idle(timeout=30)
    (job,) = await mem.store.jobs(states=("parked",))
    assert job.id == bad and job.attempts == 2
    assert "LLMOutputError" in job.last_error and "fact extraction" in job.last_error
    assert worker.failed == 2
    # The others, including the same user's next job, were not blocked for ever.
    done = {j.id for j in await mem.store.jobs(states=("done",))}
    assert done == {after_bad, *good}
    assert len((await mem.get_all(user_id="good"))["results"]) == 3
    assert [r["memory"] for r in (await mem.get_all(user_id="bad"))["results"]] == [
        "Bad user later fact"
    ]
    assert any("parked after 2 attempts" in r.getMessage() for r in caplog.records)

    # An operator retries it once the model is fixed: it completes.
    llm._responder.facts = None
    assert await mem.store.retry_parked(bad) == 1
    worker._wake.set()
    assert await worker.wait_idle(timeout=30)
    assert (await mem.store.get_job(bad)).state == "done"
    assert "POISON pill" in [r["memory"] for r in (await mem.get_all(user_id="bad"))["results"]]


async def test_llm_exception_is_retried_then_parked(open_memory, make_worker):
    def facts(line):
        raise RuntimeError("backend exploded")

    mem = await open_memory(llm=scripted(facts=facts))
    worker = make_worker(mem, max_attempts=3)
    job = await worker.enqueue(_msgs("anything"), user_id="u1")
    await worker.start()

    async def parked():
        return (await mem.store.get_job(job)).state == "parked"

    await _until(parked)
    got = await mem.store.get_job(job)
    assert got.attempts == 3 and "RuntimeError: backend exploded" in got.last_error
    assert (await mem.get_all(user_id="u1"))["results"] == []


async def test_jobs_survive_a_restart(open_memory, make_worker, data_dir):
    llm = scripted()
    mem = await open_memory(llm=llm)
    unstarted = make_worker(mem)
    ids = [await unstarted.enqueue(_msgs("Lives in Oslo"), user_id="u1"),
           await unstarted.enqueue(_msgs("Likes skiing"), user_id="u1")]
    await mem.close()
    assert extraction_calls(llm) == 0

    llm2 = scripted()
    mem2 = await open_memory(llm=llm2)
    worker = make_worker(mem2)
    await worker.start()
    assert await worker.wait_idle(timeout=30)
    got = [r["memory"] for r in (await mem2.get_all(user_id="u1"))["results"]]
    assert got == ["Lives in Oslo", "Likes skiing"]
    assert extraction_calls(llm2) == 2
    assert {j.id for j in await mem2.store.jobs(states=("done",))} == set(ids)
    await worker.stop()
    await mem2.close()

    # Another restart processes nothing again: exactly once, no duplicates.
    llm3 = scripted()
    mem3 = await open_memory(llm=llm3)
    worker3 = make_worker(mem3)
    await worker3.start()
    assert await worker3.wait_idle(timeout=30)
    assert extraction_calls(llm3) == 0
    got = [r["memory"] for r in (await mem3.get_all(user_id="u1"))["results"]]
    assert got == ["Lives in Oslo", "Likes skiing"]


async def test_running_job_is_requeued_at_start(open_memory, make_worker, data_dir):
    mem = await open_memory(llm=scripted())
    job = await make_worker(mem).enqueue(_msgs("Plays chess"), user_id="u1")
    await mem.close()
    with raw_db(data_dir) as db:  # a crash while the job ran
        db.execute("UPDATE jobs SET state = 'running', attempts = 1 WHERE id = ?", (job,))

    mem2 = await open_memory(llm=scripted())
    # A running job blocks its user: without the requeue it would never run.
    assert await mem2.store.claim_job() is None
    worker = make_worker(mem2, max_attempts=3)
    await worker.start()
    assert await worker.wait_idle(timeout=30)
    got = await mem2.store.get_job(job)
    assert got.state == "done" and got.attempts == 2
    assert [r["memory"] for r in (await mem2.get_all(user_id="u1"))["results"]] == ["Plays chess"]


async def test_job_with_no_facts_is_done(open_memory, make_worker):
    mem = await open_memory(llm=scripted(facts={"hello": []}))
    worker = make_worker(mem)
    job = await worker.enqueue(_msgs("hello"), user_id="u1")
    await worker.start()
    assert await worker.wait_idle(timeout=30)
    assert (await mem.store.get_job(job)).state == "done"
    assert (await mem.get_all(user_id="u1"))["results"] == []


async def test_stop_puts_a_running_job_back(open_memory, make_worker):
    # complete_json sleeps before answering: the job is caught mid-way by stop().
    llm = ScriptedLLM(lambda messages, schema: '{"facts": ["Slow fact"]}', token_delay_s=30)
    mem = await open_memory(llm=llm)
    worker = make_worker(mem)
    job = await worker.enqueue(_msgs("slow"), user_id="u1")
    await worker.start()

    async def running():
        return (await mem.store.get_job(job)).state == "running"

    await _until(running)
    await worker.stop()
    got = await mem.store.get_job(job)
    assert got.state == "pending" and got.attempts == 1
    assert (await mem.get_all(user_id="u1"))["results"] == []
