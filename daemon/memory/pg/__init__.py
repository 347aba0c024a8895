"""PostgreSQL + pgvector memory store: several servers and workers on one database.

``PgStore`` implements the same store interface as the SQLite store; vectors live in a
pgvector HNSW index inside the database (no hnswlib files), keywords in a GIN full-text index,
and the job queue is shared by every process through ``FOR UPDATE SKIP LOCKED`` with leases.
"""

from daemon.memory.pg.store import PgStore

__all__ = ["PgStore"]
