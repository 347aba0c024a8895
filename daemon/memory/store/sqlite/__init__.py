"""``SqliteStore``: the ``MemoryStore`` on one SQLite file (WAL), the embedded default.

Composed of one part per table group: connections and transactions (``base``), memory reads
(``memories``), memory writes, history and forget (``changes``), messages, jobs.
"""

from __future__ import annotations

from daemon.memory.store.sqlite.changes import MemoryWrites
from daemon.memory.store.sqlite.jobs import Jobs
from daemon.memory.store.sqlite.messages import Messages


class SqliteStore(MemoryWrites, Messages, Jobs):
    """All SQL lives in this package; callers see rows and dataclasses."""


__all__ = ["SqliteStore"]
