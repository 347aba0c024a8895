"""SQLite is the truth, the HNSW index a derived cache: restarts keep everything, and a
missing, corrupt or stale index is rebuilt to the same search results."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import pytest

from daemon.memory.index import partition_file_stem
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore, now_iso, text_hash
from tests.support.memory_fakes import HashEmbedder, db_path, index_dir, raw_db

USERS = {
    "alice": ["Alice lives in Paris", "Alice likes green tea", "Alice has a dog named Rex",
              "Alice works as a nurse", "Alice plays the piano on Sundays"],
    "bob": ["Bob lives in Rome", "Bob likes black coffee", "Bob drives a red car"],
}
QUERIES = [("alice", "where does alice live"), ("alice", "dog"), ("alice", "piano music"),
           ("bob", "coffee or tea"), ("bob", "car colour")]


async def _populate(mem) -> None:
    for user, texts in USERS.items():
        await mem.add(texts, user_id=user, infer=False)
    # Deleted and closed memories must stay out after a restart (the saved graph keeps them
    # as marked-deleted elements).
    gone = (await mem.add("Alice hates mornings", user_id="alice", infer=False))["results"][0]
    await mem.delete(gone["id"])
    await mem.add("Alice studies French", user_id="alice", infer=False)


async def _snapshot(mem) -> dict:
    out: dict = {"all": {}, "search": []}
    for user in USERS:
        out["all"][user] = (await mem.get_all(user_id=user, include_closed=True))["results"]
    for user, q in QUERIES:
        res = (await mem.search(q, user_id=user, limit=4))["results"]
        out["search"].append([(r["id"], r["memory"], r["score"]) for r in res])
    return out


def _index_files(data_dir):
    return sorted(index_dir(data_dir).glob("u-*"))


@pytest.fixture
async def saved(open_memory, data_dir):
    """A populated memory, closed cleanly; returns its snapshot."""
    mem = await open_memory()
    await _populate(mem)
    snap = await _snapshot(mem)
    await mem.close()
    assert len(_index_files(data_dir)) == 6  # .hnsw + .json + .labels.npy per user
    return snap


async def test_clean_restart_loads_the_saved_index(saved, open_memory, caplog):
    progress: list[str] = []
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        mem = await open_memory(progress=progress.append)
    assert await _snapshot(mem) == saved
    assert not any("building" in p for p in progress), progress
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
    assert sum(len(v) for v in saved["all"].values()) == 9
    assert all("hates" not in r["memory"] for r in saved["all"]["alice"])


async def test_missing_index_files_are_rebuilt(saved, open_memory, data_dir):
    for p in _index_files(data_dir):
        p.unlink()
    progress: list[str] = []
    mem = await open_memory(progress=progress.append)
    assert any("building the vector index" in p for p in progress)
    assert await _snapshot(mem) == saved
    await mem.close()
    assert len(_index_files(data_dir)) == 6  # written again


@pytest.mark.parametrize("damage", ["overwrite", "truncate", "empty", "manifest-garbage"])
async def test_corrupt_index_is_rebuilt(saved, open_memory, data_dir, caplog, damage):
    stem = partition_file_stem("alice")
    hnsw = index_dir(data_dir) / f"{stem}.hnsw"
    manifest = index_dir(data_dir) / f"{stem}.json"
    blob = bytearray(hnsw.read_bytes())
    if damage == "overwrite":
        mid = len(blob) // 2
        blob[mid:mid + 64] = b"\xff" * 64
        hnsw.write_bytes(bytes(blob))
    elif damage == "truncate":
        hnsw.write_bytes(bytes(blob[: len(blob) // 3]))
    elif damage == "empty":
        hnsw.write_bytes(b"")
    else:
        manifest.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        mem = await open_memory()
    assert await _snapshot(mem) == saved
    assert any("rebuilding" in r.getMessage() for r in caplog.records)
    await mem.close()
    # The rebuilt index was saved and is good again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        mem2 = await open_memory()
    assert await _snapshot(mem2) == saved
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]


async def test_stale_manifest_after_a_raw_sqlite_write(saved, open_memory, data_dir, caplog):
    emb = HashEmbedder()
    text = "Alice keeps bees in the garden"
    ts = now_iso()
    with raw_db(data_dir) as db:
        db.execute(
            "INSERT INTO memories(id, user_id, text, hash, embedding, embedder, metadata, "
            "created_at, updated_at, valid_from) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, ?)",
            ("raw-1", "alice", text, text_hash(text),
             emb.embed_documents([text])[0].astype(np.float32).tobytes(), emb.identity,
             ts, ts, ts))
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                   "WHERE key = 'index_gen:alice'")
    with caplog.at_level(logging.INFO, logger="daemon.memory"):
        mem = await open_memory()
    # Caught up from the saved graph, not rebuilt.
    assert any("brought up to date: 1 added, 0 removed, 0 updated" in r.getMessage()
               for r in caplog.records)
    hits = (await mem.search("bees garden", user_id="alice", limit=1))["results"]
    assert [h["id"] for h in hits] == ["raw-1"]
    # Bob's index was not stale and is unchanged.
    bob = (await mem.search("car colour", user_id="bob", limit=4))["results"]
    assert [(r["id"], r["memory"], r["score"]) for r in bob] == saved["search"][4]


async def test_generation_only_mismatch_catches_up(saved, open_memory, data_dir, caplog):
    man = index_dir(data_dir) / f"{partition_file_stem('bob')}.json"
    data = json.loads(man.read_text(encoding="utf-8"))
    data["generation"] -= 1
    man.write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="daemon.memory"):
        mem = await open_memory()
    assert any("brought up to date: 0 added, 0 removed, 0 updated" in r.getMessage()
               for r in caplog.records)
    assert await _snapshot(mem) == saved


async def test_labels_mismatch_without_generation_bump_catches_up(saved, open_memory,
                                                                 data_dir, caplog):
    # A row deleted behind the engine's back (generation not bumped).
    victim = saved["all"]["bob"][0]
    with raw_db(data_dir) as db:
        db.execute("DELETE FROM memories WHERE id = ?", (victim["id"],))
    with caplog.at_level(logging.INFO, logger="daemon.memory"):
        mem = await open_memory()
    assert any("brought up to date: 0 added, 1 removed, 0 updated" in r.getMessage()
               for r in caplog.records)
    for _, q in [q for q in QUERIES if q[0] == "bob"]:
        ids = {h["id"] for h in (await mem.search(q, user_id="bob"))["results"]}
        assert victim["id"] not in ids and len(ids) == 2


async def test_unsaved_changes_survive_a_crash(open_memory, data_dir):
    """The index is saved lazily; a crash (no close) loses nothing but the cache."""
    mem = await open_memory()
    await _populate(mem)
    await mem.save_indexes()
    late = await mem.add("Bob collects stamps", user_id="bob", infer=False)
    # Simulate a crash: drop the connections without saving the index.
    await mem.store.close()
    mem2 = await open_memory()
    hits = (await mem2.search("stamps collection", user_id="bob", limit=1))["results"]
    assert [h["id"] for h in hits] == [late["results"][0]["id"]]


async def test_periodic_saver_writes_the_index(data_dir):
    mem = AsyncMemory(SqliteStore(db_path(data_dir)), HashEmbedder(), None,
                 index_dir=index_dir(data_dir))
    await mem.start(save_interval_s=0.05)
    await mem.add("Carol sings", user_id="carol", infer=False)
    stem = partition_file_stem("carol")
    for _ in range(100):
        if (index_dir(data_dir) / f"{stem}.json").exists():
            break
        await asyncio.sleep(0.02)
    manifest = json.loads((index_dir(data_dir) / f"{stem}.json").read_text(encoding="utf-8"))
    assert manifest["count"] == 1 and manifest["embedder"] == "fake:1"
    saver = mem.keeper._saver
    await mem.close()
    assert saver is not None and saver.done()


async def test_stale_index_is_caught_up_not_rebuilt(saved, open_memory, data_dir, caplog):
    """Changes committed after the last index save (a crash in between) are applied to the
    saved graph: added, removed and updated vectors, with no rebuild."""
    import sqlite3

    import numpy as np

    with sqlite3.connect(db_path(data_dir)) as conn:
        rows = conn.execute("SELECT num, embedding, user_id FROM memories WHERE valid_to IS NULL "
                            "AND user_id = 'alice' ORDER BY num").fetchall()
        first, second = rows[0], rows[1]
        # An update of a vector, a close, and a new row, as a crash would leave them.
        v = np.frombuffer(second[1], dtype=np.float32)[::-1].copy()
        conn.execute("UPDATE memories SET embedding = ?, text = 'changed' WHERE num = ?",
                     (v.tobytes(), second[0]))
        conn.execute("UPDATE memories SET valid_to = '2026-01-01' WHERE num = ?", (first[0],))
        conn.execute("INSERT INTO memories(id, user_id, text, hash, embedding, embedder, "
                     "metadata, created_at, updated_at, valid_from) SELECT 'new-1', user_id, "
                     "'brand new', 'h', embedding, embedder, '{}', created_at, updated_at, "
                     "valid_from FROM memories WHERE num = ?", (rows[-1][0],))
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                     "WHERE key = 'index_gen:alice'")
    progress: list[str] = []
    with caplog.at_level(logging.INFO, logger="daemon.memory"):
        mem = await open_memory(progress=progress.append)
    assert not any("building" in p for p in progress), progress
    assert any("brought up to date: 1 added, 1 removed, 1 updated" in r.getMessage()
               for r in caplog.records)
    index = await mem.keeper.index("alice")
    nums, vecs = await mem.store.partition_vectors("alice")
    assert index.labels == set(nums)
    stored = np.asarray(index._index.get_items(nums))
    want = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert np.abs(stored - want).max() < 1e-5
