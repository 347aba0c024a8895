"""`xiaozhi-memd memory migrate --to postgresql://...`: the real CLI copies a SQLite store
(memories with vectors, closed ones, history, messages, jobs) to a real PostgreSQL, shows its
progress, and a second run copies nothing new."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from daemon.memory.memory import AsyncMemory
from daemon.memory.pg import PgStore
from daemon.memory.store import Change, Exchange, SqliteStore
from daemon.memory.worker import MemoryWorker
from tests.support.pg_worker import WordEmbedder
from tests.support.server import console_script, write_config

pytestmark = pytest.mark.timeout(300)


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
    return subprocess.run([console_script(), "--config", str(cfg), "memory", *args],
                          capture_output=True, text=True, timeout=240, env=env)


async def _sqlite_memory(data: Path) -> tuple[dict[str, str], int]:
    mem = AsyncMemory(SqliteStore(data / "memory.sqlite3"), WordEmbedder(), None,
                 index_dir=data / "index")
    await mem.start(save_interval_s=0)
    try:
        ids = {}
        for text in ("Likes green tea", "Lives in Berlin", "我女儿叫小红", "Has a cat"):
            ids[text] = (await mem.add(text, user_id="anna", metadata={"src": "t"},
                                       infer=False))["results"][0]["id"]
        await mem.add("Plays chess", user_id="bob", agent_id="coach", infer=False)
        await mem.update(ids["Lives in Berlin"], "Lives in Munich")
        await mem.keeper.commit([Change("CLOSE", memory_id=ids["Has a cat"])])
        await mem.delete(ids["Likes green tea"])
        await mem.record_exchanges([Exchange(
            "s1", "anna", None, "I moved to Munich", "Noted.", False,
            MemoryWorker.payload([{"role": "user", "content": "I moved to Munich"}],
                                 user_id="anna"))])
        job = await mem.store.enqueue("extract", "bob", {"messages": [], "user_id": "bob"})
        await mem.store.claim_job()
        await mem.store.fail_job(job, "boom", retry_in_s=None)  # parked
        return ids, job
    finally:
        await mem.close()


async def test_migrate_copies_everything_once_with_progress(pg_server, tmp_path: Path):
    data = tmp_path / "data"
    ids, _ = await _sqlite_memory(data)
    cfg = write_config(tmp_path / "config.yaml", {"data_dir": str(data)})
    dsn = pg_server.new_dsn()

    first = _cli(cfg, "migrate", "--to", dsn)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "memories: 4/4 read, 4 copied" in first.stderr
    assert "done: 4 memories (0 were there already)" in first.stderr
    assert "2 messages, 2 jobs copied" in first.stderr

    pg = AsyncMemory(PgStore(dsn, dim=WordEmbedder.dim), WordEmbedder(), None,
                index_dir=tmp_path / "pgindex")
    sq = AsyncMemory(SqliteStore(data / "memory.sqlite3"), WordEmbedder(), None,
                index_dir=data / "index")
    await pg.start(save_interval_s=0)
    await sq.start(save_interval_s=0)
    try:
        for kwargs in ({"user_id": "anna"}, {"user_id": "bob", "agent_id": "coach"},
                       {"user_id": "anna", "include_closed": True}):
            assert (await pg.get_all(**kwargs)) == (await sq.get_all(**kwargs))
        for mid in ids.values():
            assert await pg.history(mid) == await sq.history(mid)
        hits = (await pg.search("Where does anna live? Munich", user_id="anna"))["results"]
        assert hits[0]["memory"] == "Lives in Munich"
        assert (await pg.search("女儿", user_id="anna", limit=1))["results"][0]["memory"] \
            == "我女儿叫小红"
        assert await pg.recent_messages("s1", 5) == await sq.recent_messages("s1", 5)
        jobs = await pg.jobs(("pending", "parked"))
        assert [(j.user_id, j.state) for j in jobs] == [("anna", "pending"), ("bob", "parked")]
        assert jobs[1].last_error == "boom"
    finally:
        await pg.close()
        await sq.close()

    second = _cli(cfg, "migrate", "--to", dsn)
    assert second.returncode == 0, second.stderr
    assert "done: 0 memories (4 were there already), 0 history rows, 0 messages, 0 jobs" \
        in second.stderr


async def test_migrate_errors_are_clear(pg_server, tmp_path: Path):
    cfg = write_config(tmp_path / "config.yaml", {"data_dir": str(tmp_path / "data")})
    out = _cli(cfg, "migrate", "--to", pg_server.uri)
    assert out.returncode == 1 and "no SQLite memory store at" in out.stderr
    store = SqliteStore(tmp_path / "data" / "memory.sqlite3")
    await store.open()
    await store.close()
    out = _cli(cfg, "migrate", "--to", pg_server.dsn("no_such_db"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "PostgreSQL: InvalidCatalogNameError" in out.stderr and "no_such_db" in out.stderr
    bad = _cli(cfg, "migrate", "--to", "mysql://x")
    assert bad.returncode == 2 and "postgresql://" in bad.stderr
