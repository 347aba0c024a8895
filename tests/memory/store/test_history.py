"""History like mem0's: ADD / UPDATE / DELETE events with old and new text, on real SQLite;
an explicit delete erases the memory's texts (the events stay), a forget of the scope erases
every row of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from daemon.memory.store.sqlite.schema import MIGRATIONS, migrate
from tests.support.forgotten import rows_mentioning

HISTORY_KEYS = {"id", "memory_id", "old_memory", "new_memory", "event", "created_at",
                "updated_at", "is_deleted", "actor_id", "role"}


async def test_add_update_delete_events_and_a_delete_erases_the_texts(open_memory) -> None:
    mem = await open_memory()
    (added,) = (await mem.add("Lives in Berlin", user_id="alice", infer=False))["results"]
    mid = added["id"]
    await mem.update(mid, "Lives in Munich")
    hist = await mem.history(mid)
    assert all(HISTORY_KEYS <= set(h) for h in hist)
    assert [(h["event"], h["old_memory"], h["new_memory"], h["is_deleted"]) for h in hist] == [
        ("ADD", None, "Lives in Berlin", False),
        ("UPDATE", "Lives in Berlin", "Lives in Munich", False),
    ]
    await mem.delete(mid)
    hist = await mem.history(mid)
    assert [(h["event"], h["old_memory"], h["new_memory"], h["is_deleted"]) for h in hist] == [
        ("ADD", None, None, True),
        ("UPDATE", None, None, True),
        ("DELETE", None, None, True),
    ]
    assert [h["actor_id"] for h in hist] == ["api", "user", "user"]
    assert hist[0]["created_at"] <= hist[1]["created_at"] <= hist[2]["created_at"]
    assert await mem.get(mid) is None
    assert (await mem.search("Munich", user_id="alice"))["results"] == []
    assert rows_mentioning(mem.store.path, "Munich") == {}
    assert rows_mentioning(mem.store.path, "Berlin") == {}


async def test_a_forget_erases_the_scopes_history(open_memory) -> None:
    mem = await open_memory()
    ids = {}
    for text, scope in (("PIN4321 for the bike lock", {"user_id": "bob"}),
                        ("Kitchen code KX77Q", {"user_id": "bob", "agent_id": "kitchen"}),
                        ("Bob's other note", {"user_id": "bob"})):
        (r,) = (await mem.add(text, infer=False, **scope))["results"]
        ids[text] = r["id"]
    await mem.update(ids["Kitchen code KX77Q"], "Kitchen code KX88Q")
    await mem.delete(ids["Bob's other note"])
    db = mem.store.path
    assert rows_mentioning(db, "KX77Q") == {"history": 2}  # ADD and UPDATE events
    assert rows_mentioning(db, "other note") == {}  # deleted: texts gone at once

    # A forget of the agent scope finds that scope's history by its agent id.
    await mem.delete_all(user_id="bob", agent_id="kitchen")
    assert rows_mentioning(db, "KX77Q") == {}
    assert rows_mentioning(db, "KX88Q") == {}
    assert rows_mentioning(db, "PIN4321") != {}  # another scope: kept

    await mem.delete_all(user_id="bob")
    assert rows_mentioning(db, "PIN4321") == {}
    assert rows_mentioning(db, "bob") == {}  # the deleted memory's event rows too
    assert await mem.history(ids["PIN4321 for the bike lock"]) == []
    assert await mem.history(ids["Bob's other note"]) == []


def test_migration_gives_old_history_rows_their_agent_and_run(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        for version, script in enumerate(MIGRATIONS[:3], 1):
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
        conn.execute("INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, "
                     "created_at, updated_at, valid_from) VALUES "
                     "('m1', 'u', 'a', 'r', 't', 'h', 'x', 'x', 'x')")
        conn.execute("INSERT INTO history(id, memory_id, user_id, event, created_at, actor) "
                     "VALUES ('h1', 'm1', 'u', 'ADD', 'x', 'api')")
        assert migrate(conn) == 3
        assert conn.execute("SELECT agent_id, run_id FROM history").fetchall() == [("a", "r")]
