"""Copy a SQLite memory store into PostgreSQL: ``xiaozhi-memd memory migrate --to DSN``.

What is copied: memories (ids, times, vectors and closed ones kept), their history, the
dialogue lines (messages) and the jobs still to do (pending, parked; a job left running is
copied as pending). Idempotent: memories and history rows are keyed by their ids, messages and
jobs by a watermark kept in the target's ``meta`` per source file, so running it again copies
only what is new. Stop the SQLite server first: the copy reads one consistent snapshot.
Vectors are copied as they are (no re-embedding): keep the same embedder in the new config.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from daemon.memory.pg.keywords import keyword_doc, tsv_sql
from daemon.memory.pg.schema import ensure_vector_index
from daemon.memory.pg.sql import no_nul
from daemon.memory.pg.store import PgStore
from daemon.memory.store.sqlite.schema import migrate as sqlite_migrate

BATCH = 500
Progress = Callable[[str], None]


@dataclass
class Copied:
    memories: int = 0
    history: int = 0
    messages: int = 0
    jobs: int = 0
    skipped_memories: int = 0
    dims: set[int] = field(default_factory=set)


def _batches(cur: sqlite3.Cursor) -> Iterator[list[tuple[Any, ...]]]:
    while rows := cur.fetchmany(BATCH):
        yield rows


def _source_dims(db: sqlite3.Connection) -> set[int]:
    rows = db.execute("SELECT DISTINCT length(embedding) FROM memories "
                      "WHERE embedding IS NOT NULL").fetchall()
    return {int(n) // 4 for (n,) in rows}


async def migrate_sqlite(source: Path, dsn: str, progress: Progress = print) -> Copied:
    if not source.exists():
        raise FileNotFoundError(f"no SQLite memory store at {source}")
    # The source at this program's schema first (what its server would do at its next start).
    with sqlite3.connect(source) as conn:
        sqlite_migrate(conn)
    conn.close()
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    db.execute("BEGIN")  # one snapshot for the whole copy
    out = Copied(dims=_source_dims(db))
    store = PgStore(dsn)
    await store.open()
    try:
        async with store.pool.acquire() as conn:
            for dim in sorted(out.dims):
                await ensure_vector_index(conn, dim, *store.hnsw[:2])
        key = f"migrated_from:{source.resolve()}"
        await _memories(db, store, out, progress)
        await _history(db, store, out, progress)
        await _watermarked(db, store, out, key, progress)
        # Fresh planner statistics: without them the first lookups plan as for an empty table.
        await store.pool.execute("ANALYZE memories, history, messages, jobs")
    finally:
        await store.close()
        db.close()
    return out


async def _memories(db: sqlite3.Connection, store: PgStore, out: Copied,
                    progress: Progress) -> None:
    total = db.execute("SELECT count(*) FROM memories").fetchone()[0]
    cur = db.execute("SELECT id, user_id, agent_id, run_id, text, hash, embedding, embedder, "
                     "metadata, created_at, updated_at, valid_from, valid_to, kind "
                     "FROM memories ORDER BY num")
    seen = 0
    for rows in _batches(cur):
        values = []
        for r in rows:
            emb = None if r[6] is None else np.frombuffer(r[6], dtype=np.float32)
            meta = no_nul(json.loads(r[8] or "{}"))
            values.append((r[0], r[1], r[2], r[3], no_nul(r[4]), r[5], emb, r[7],
                           json.dumps(meta, ensure_ascii=False), r[9], r[10], r[11], r[12],
                           r[13], *keyword_doc(r[4])))
        async with store.tx() as conn:
            before = await conn.fetchval("SELECT count(*) FROM memories")
            await conn.executemany(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, valid_to, kind, tsv) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, "
                f"{tsv_sql('$15', '$16')}) ON CONFLICT (id) DO NOTHING", values)
            added = await conn.fetchval("SELECT count(*) FROM memories") - before
        out.memories += added
        out.skipped_memories += len(rows) - added
        seen += len(rows)
        progress(f"memories: {seen}/{total} read, {out.memories} copied, "
                 f"{out.skipped_memories} already there")


async def _history(db: sqlite3.Connection, store: PgStore, out: Copied,
                   progress: Progress) -> None:
    total = db.execute("SELECT count(*) FROM history").fetchone()[0]
    cur = db.execute("SELECT id, memory_id, user_id, old_memory, new_memory, event, created_at, "
                     "actor, is_deleted, agent_id, run_id FROM history ORDER BY seq")
    seen = 0
    for rows in _batches(cur):
        async with store.tx() as conn:
            before = await conn.fetchval("SELECT count(*) FROM history")
            await conn.executemany(
                "INSERT INTO history(id, memory_id, user_id, old_memory, new_memory, event, "
                "created_at, actor, is_deleted, agent_id, run_id) VALUES ($1, $2, $3, $4, $5, "
                "$6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                [(r[0], r[1], r[2], no_nul(r[3]), no_nul(r[4]), r[5], r[6], r[7], bool(r[8]),
                  r[9], r[10]) for r in rows])
            out.history += await conn.fetchval("SELECT count(*) FROM history") - before
        seen += len(rows)
        progress(f"history: {seen}/{total} read, {out.history} copied")


async def _watermarked(db: sqlite3.Connection, store: PgStore, out: Copied, key: str,
                       progress: Progress) -> None:
    """Messages and jobs after the last copied seq/id of this source (kept in meta, written
    in the same transaction as the rows)."""
    for table in ("messages", "jobs"):
        mark_key = f"{key}:{table}"
        last = int(await store.get_meta(mark_key) or 0)
        if table == "messages":
            cur = db.execute("SELECT seq, session_id, user_id, agent_id, role, content, "
                             "interrupted, created_at FROM messages WHERE seq > ? ORDER BY seq",
                             (last,))
        else:
            cur = db.execute("SELECT id, kind, user_id, payload, state, attempts, last_error, "
                             "not_before, created_at, updated_at FROM jobs WHERE id > ? AND "
                             "state IN ('pending', 'running', 'parked') ORDER BY id", (last,))
        for rows in _batches(cur):
            async with store.tx() as conn:
                if table == "messages":
                    await conn.executemany(
                        "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                        "interrupted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        [(r[1], r[2], r[3], r[4], no_nul(r[5]), bool(r[6]), r[7]) for r in rows])
                    out.messages += len(rows)
                else:
                    # Retry delays were on the old machine's clock: due now.
                    await conn.executemany(
                        "INSERT INTO jobs(kind, user_id, payload, state, attempts, last_error, "
                        "created_at, updated_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)",
                        [(r[1], r[2], json.dumps(no_nul(json.loads(r[3])), ensure_ascii=False),
                          "parked" if r[4] == "parked" else "pending", r[5], r[6], r[8], r[9])
                         for r in rows])
                    out.jobs += len(rows)
                await conn.execute(
                    "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE "
                    "SET value = excluded.value", mark_key, str(rows[-1][0]))
            progress(f"{table}: {out.messages if table == 'messages' else out.jobs} copied")
