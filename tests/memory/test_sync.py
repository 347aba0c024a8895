"""SyncMemory: the same API from synchronous code, on a private loop thread."""

from __future__ import annotations

import threading

from daemon.memory.memory import Memory
from daemon.memory.store import SqliteStore
from daemon.memory.sync import SyncMemory
from tests.memory.conftest import HashEmbedder, db_path, index_dir, scripted


def _sync(data_dir, llm=None) -> SyncMemory:
    return SyncMemory(Memory(SqliteStore(db_path(data_dir)), HashEmbedder(), llm,
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

    # Durable: a second SyncMemory on the same folder sees it.
    again = _sync(data_dir)
    try:
        assert [r["memory"] for r in again.get_all(user_id="u2")["results"]] == ["After reset"]
        assert [h["memory"] for h in again.search("reset", user_id="u2")["results"]] == [
            "After reset"
        ]
    finally:
        again.close()
