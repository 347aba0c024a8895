"""The SQLite schema, in one place, with explicit numbered migrations.

``PRAGMA user_version`` holds the applied version; each migration runs once, in its own
transaction, in order. Never edit a released migration: add the next one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: memories, history, messages, jobs, meta.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    -- num is the integer label of the memory in the HNSW index; id is the public uuid.
    CREATE TABLE memories (
        num         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL UNIQUE,
        user_id     TEXT,
        agent_id    TEXT,
        run_id      TEXT,
        text        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        embedding   BLOB,
        embedder    TEXT,
        metadata    TEXT NOT NULL DEFAULT '{}',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        valid_from  TEXT NOT NULL,
        valid_to    TEXT
    );
    CREATE INDEX memories_user ON memories(user_id, valid_to);
    CREATE INDEX memories_agent ON memories(agent_id);
    CREATE INDEX memories_run ON memories(run_id);
    CREATE INDEX memories_hash ON memories(user_id, hash);

    -- Trigram tokenizer so that Chinese (no spaces) matches by substring.
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        text, content='memories', content_rowid='num', tokenize='trigram'
    );
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text) VALUES (new.num, new.text);
    END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.num, old.text);
    END;
    CREATE TRIGGER memories_au AFTER UPDATE OF text ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.num, old.text);
        INSERT INTO memories_fts(rowid, text) VALUES (new.num, new.text);
    END;

    CREATE TABLE history (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL UNIQUE,
        memory_id   TEXT NOT NULL,
        user_id     TEXT,
        old_memory  TEXT,
        new_memory  TEXT,
        event       TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE', 'CLOSE')),
        created_at  TEXT NOT NULL,
        actor       TEXT NOT NULL DEFAULT 'system',
        is_deleted  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX history_memory ON history(memory_id, seq);

    CREATE TABLE messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id  TEXT NOT NULL,
        user_id     TEXT,
        agent_id    TEXT,
        role        TEXT NOT NULL,
        content     TEXT NOT NULL,
        interrupted INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX messages_session ON messages(session_id, seq);
    CREATE INDEX messages_user ON messages(user_id, seq);

    -- The durable work queue. A job is claimed by setting state='running'; a crash leaves it
    -- 'running', and start-up puts it back to 'pending' (its effects are applied in one
    -- transaction together with state='done', so it runs to completion exactly once).
    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL,
        user_id     TEXT,
        payload     TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'running', 'done', 'parked')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        not_before  REAL NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX jobs_state ON jobs(state, not_before, id);
    """,
    # 2: episodic memories (the user's own utterances, dated) beside extracted facts.
    """
    ALTER TABLE memories ADD COLUMN kind TEXT NOT NULL DEFAULT 'fact'
        CHECK (kind IN ('fact', 'episode'));
    DROP INDEX memories_user;
    CREATE INDEX memories_user ON memories(user_id, kind, valid_to);
    """,
    # 3: forget tombstones. A forget writes one row (hashes of the scope ids, never the ids or
    # any text); a write that started before it (an in-flight add, a turn being recorded)
    # and falls in its scope is dropped instead of bringing the forgotten words back.
    """
    CREATE TABLE forgets (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_key    TEXT,
        agent_key   TEXT,
        run_key     TEXT,
        at          TEXT NOT NULL
    );
    CREATE INDEX history_user ON history(user_id);
    -- Index generations now come from one counter (see SqliteBase._bump), above all old ones.
    INSERT INTO meta(key, value) SELECT 'index_gen_seq',
        CAST(coalesce(max(CAST(value AS INTEGER)), 0) AS TEXT) FROM meta
        WHERE key LIKE 'index_gen:%';
    CREATE INDEX jobs_user ON jobs(user_id);
    """,
    # 4: history rows carry the memory's agent and run ids: a deleted memory's history keeps
    # its text (mem0's DELETE event), and a forget of an agent or a run must still find it.
    """
    ALTER TABLE history ADD COLUMN agent_id TEXT;
    ALTER TABLE history ADD COLUMN run_id TEXT;
    UPDATE history SET
        agent_id = (SELECT m.agent_id FROM memories m WHERE m.id = history.memory_id),
        run_id = (SELECT m.run_id FROM memories m WHERE m.id = history.memory_id);
    CREATE INDEX history_agent ON history(agent_id);
    CREATE INDEX history_run ON history(run_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring a database to SCHEMA_VERSION; returns the version it was at."""
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {current} is newer than this program ({SCHEMA_VERSION}):"
            " upgrade xiaozhi-memd"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.executescript(f"BEGIN;\n{MIGRATIONS[version - 1]}\nPRAGMA user_version = {version};\nCOMMIT;")
    return int(current)
