"""Duplicate short-circuit (no decision call) and re-embedding after an embedder switch."""

from __future__ import annotations

import json

import numpy as np

from daemon.memory.index import partition_file_stem
from daemon.memory.store import Change
from tests.support.memory_fakes import HashEmbedder, decision_calls, index_dir, raw_db, scripted


async def test_same_fact_twice_is_none_without_a_decision_call(open_memory):
    llm = scripted()
    mem = await open_memory(llm=llm)
    first = await mem.add("Likes green tea", user_id="u1")
    assert [r["event"] for r in first["results"]] == ["ADD"]
    mid = first["results"][0]["id"]
    second = await mem.add("Likes green tea", user_id="u1")
    assert second == {"results": [{"id": mid, "memory": "Likes green tea", "event": "NONE"}]}
    # Whitespace and case do not make a new memory either (same hash).
    third = await mem.add("likes   GREEN tea", user_id="u1")
    assert [(r["id"], r["event"]) for r in third["results"]] == [(mid, "NONE")]
    assert decision_calls(llm) == 0
    assert mem.last_add.events == {"NONE": 1}
    assert [r["id"] for r in (await mem.get_all(user_id="u1"))["results"]] == [mid]
    assert [h["event"] for h in await mem.history(mid)] == ["ADD"]
    # The same fact for another user is that user's own new memory.
    other = await mem.add("Likes green tea", user_id="u2")
    assert [r["event"] for r in other["results"]] == ["ADD"]
    assert other["results"][0]["id"] != mid


async def test_same_fact_twice_in_one_exchange_is_stored_once(open_memory):
    llm = scripted({"I like tea. I like tea!": ["Likes tea", "Likes tea ", "likes tea"]})
    mem = await open_memory(llm=llm)
    res = await mem.add("I like tea. I like tea!", user_id="u1")
    assert [(r["memory"], r["event"]) for r in res["results"]] == [("Likes tea", "ADD")]
    assert decision_calls(llm) == 0
    assert len((await mem.get_all(user_id="u1"))["results"]) == 1


async def test_embedder_switch_reembeds_everything(open_memory, data_dir):
    old = HashEmbedder(256, "fake:1")
    mem = await open_memory(old)
    texts = ["Lives in Berlin", "Likes green tea", "Has a dog named Rex", "Plays the piano"]
    await mem.add(texts, user_id="u1", infer=False)
    await mem.add("Bob drives a red car", user_id="u2", infer=False)
    closed = (await mem.add("Works at the bakery", user_id="u1", infer=False))["results"][0]
    await mem.keeper.commit([Change("CLOSE", memory_id=closed["id"])])  # as a DELETE decision does
    before = {r["id"]: r["memory"] for r in
              (await mem.get_all(user_id="u1", include_closed=True))["results"]}
    await mem.close()

    new = HashEmbedder(128, "fake:2")
    progress: list[str] = []
    mem2 = await open_memory(new, progress=progress.append)
    assert any("re-embedding 6 memories" in p for p in progress), progress
    assert new.texts_embedded == 6  # closed memories too, so they never mix spaces
    with raw_db(data_dir) as db:
        rows = db.execute("SELECT embedder, length(embedding), text FROM memories").fetchall()
    assert {(e, n) for e, n, _ in rows} == {("fake:2", 128 * 4)}
    for _, _, text in rows:
        stored = db_vec(data_dir, text)
        assert np.allclose(stored, new.embed_documents([text])[0])

    # Search works in the new space, and the index was rebuilt for it.
    for text in texts:
        hits = (await mem2.search(text, user_id="u1", limit=1))["results"]
        assert [h["memory"] for h in hits] == [text]
        assert abs(hits[0]["score"] - 1.0) < 1e-4
    assert [h["memory"] for h in (await mem2.search("red car", user_id="u2"))["results"]] == [
        "Bob drives a red car"
    ]
    after = {r["id"]: r["memory"] for r in
             (await mem2.get_all(user_id="u1", include_closed=True))["results"]}
    assert after == before
    await mem2.close()
    manifest = json.loads((index_dir(data_dir) / f"{partition_file_stem('u1')}.json")
                          .read_text(encoding="utf-8"))
    assert manifest["embedder"] == "fake:2" and manifest["dim"] == 128

    # And back again: the old model re-embeds once more; nothing is lost.
    back = HashEmbedder(256, "fake:1")
    mem3 = await open_memory(back)
    assert back.texts_embedded == 6
    hits = (await mem3.search("Has a dog named Rex", user_id="u1", limit=1))["results"]
    assert [h["memory"] for h in hits] == ["Has a dog named Rex"]


def db_vec(data_dir, text: str) -> np.ndarray:
    with raw_db(data_dir) as db:
        (blob,) = db.execute("SELECT embedding FROM memories WHERE text = ?", (text,)).fetchone()
    return np.frombuffer(blob, dtype=np.float32)
