"""The memory store: records, the ``MemoryStore`` interface, and its SQLite implementation.

Everything outside this package sees records and the interface's async methods, never SQL.
"""

from daemon.memory.store.base import MemoryStore
from daemon.memory.store.records import (
    EPISODE,
    FACT,
    JOB_EXTRACT,
    KINDS,
    Applied,
    Change,
    Exchange,
    Forgotten,
    Job,
    MemoryRow,
    Scope,
    WriteGuard,
    now_iso,
    partition_of,
    split_partition,
    text_hash,
)
from daemon.memory.store.sqlite import SqliteStore

__all__ = [
    "EPISODE", "FACT", "JOB_EXTRACT", "KINDS", "Applied", "Change", "Exchange", "Forgotten",
    "Job", "MemoryRow", "MemoryStore", "Scope", "SqliteStore", "WriteGuard", "now_iso",
    "partition_of", "split_partition", "text_hash",
]
