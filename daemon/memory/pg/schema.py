"""The PostgreSQL schema, in one place, with explicit numbered migrations.

``schema_version`` holds the applied version. Migrations run under an advisory lock, so
several servers starting at once against one database migrate it exactly once. Never edit a
released migration: add the next one. The HNSW index needs a fixed dimension, which only the
embedder knows: ``ensure_vector_index`` adds one partial index per dimension in use.
"""

from __future__ import annotations

import asyncpg

# Any constant: the key of the advisory lock that serialises migrations across processes.
_MIGRATION_LOCK = 0x78696D64

MIGRATIONS: list[str] = [
    # 1: memories, history, messages, jobs (with leases), forgets, meta.
    """
    CREATE EXTENSION IF NOT EXISTS vector;

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE SEQUENCE index_gen_seq;

    -- num: the integer label of a memory (as in SQLite); id: the public uuid. Times are
    -- ISO text, as SQLite keeps them, so both backends return identical results.
    CREATE TABLE memories (
        num         BIGSERIAL PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        user_id     TEXT,
        agent_id    TEXT,
        run_id      TEXT,
        text        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        embedding   vector,
        embedder    TEXT,
        metadata    JSONB NOT NULL DEFAULT '{}',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        valid_from  TEXT NOT NULL,
        valid_to    TEXT,
        kind        TEXT NOT NULL DEFAULT 'fact' CHECK (kind IN ('fact', 'episode')),
        -- Keyword document: stemmed words + CJK bigrams (pg/keywords.py).
        tsv         TSVECTOR NOT NULL DEFAULT ''::tsvector
    );
    CREATE INDEX memories_user ON memories(user_id, kind, valid_to);
    CREATE INDEX memories_agent ON memories(agent_id);
    CREATE INDEX memories_run ON memories(run_id);
    CREATE INDEX memories_hash ON memories(user_id, hash);
    CREATE INDEX memories_tsv ON memories USING gin(tsv);

    CREATE TABLE history (
        seq         BIGSERIAL PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        memory_id   TEXT NOT NULL,
        -- The memory's scope ids: a forget of a user, agent or run finds its history rows
        -- even after the memory itself was deleted.
        user_id     TEXT,
        agent_id    TEXT,
        run_id      TEXT,
        old_memory  TEXT,
        new_memory  TEXT,
        event       TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE', 'CLOSE')),
        created_at  TEXT NOT NULL,
        actor       TEXT NOT NULL DEFAULT 'system',
        is_deleted  BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX history_memory ON history(memory_id, seq);
    CREATE INDEX history_user ON history(user_id);
    CREATE INDEX history_agent ON history(agent_id);
    CREATE INDEX history_run ON history(run_id);

    CREATE TABLE messages (
        seq         BIGSERIAL PRIMARY KEY,
        session_id  TEXT NOT NULL,
        user_id     TEXT,
        agent_id    TEXT,
        role        TEXT NOT NULL,
        content     TEXT NOT NULL,
        interrupted BOOLEAN NOT NULL DEFAULT FALSE,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX messages_session ON messages(session_id, seq);
    CREATE INDEX messages_user ON messages(user_id, seq);

    -- The shared work queue. A worker claims a job with FOR UPDATE SKIP LOCKED and holds it
    -- by a lease (lease_until, database clock, renewed while it runs) and a token; a job
    -- whose lease ran out (its worker died) is claimable again, and only the token's holder
    -- can complete it, so its effects are applied once.
    CREATE TABLE jobs (
        id          BIGSERIAL PRIMARY KEY,
        kind        TEXT NOT NULL,
        user_id     TEXT,
        payload     JSONB NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'running', 'done', 'parked')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        not_before  DOUBLE PRECISION NOT NULL DEFAULT 0,
        lease_until DOUBLE PRECISION,
        lease_token TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX jobs_state ON jobs(state, not_before, id);
    CREATE INDEX jobs_user ON jobs(user_id, id);

    -- Forget tombstones: hashes of the scope ids, never the ids or any text.
    CREATE TABLE forgets (
        seq         BIGSERIAL PRIMARY KEY,
        user_key    TEXT,
        agent_key   TEXT,
        run_key     TEXT,
        at          TEXT NOT NULL
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it was at."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        if current > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {current} is newer than this program "
                f"({SCHEMA_VERSION}): upgrade xiaozhi-memd")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            await conn.execute(MIGRATIONS[version - 1])
            await conn.execute("INSERT INTO schema_version(version) VALUES ($1)", version)
    return int(current)


def vector_index_name(dim: int) -> str:
    return f"memories_hnsw_{int(dim)}"


async def ensure_vector_index(conn: asyncpg.Connection, dim: int, m: int, ef_construction: int) -> None:
    """One HNSW (cosine) index over the live vectors of dimension ``dim``. Partial: closed
    memories and vectors of another model are not in the graph."""
    dim = int(dim)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            f"CREATE INDEX IF NOT EXISTS {vector_index_name(dim)} ON memories USING hnsw "
            f"((embedding::vector({dim})) vector_cosine_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
            f"WHERE vector_dims(embedding) = {dim} AND valid_to IS NULL")
