"""``SqliteStore``: the ``MemoryStore`` on one SQLite file (WAL), the embedded default.

Composed of one part per table group: connections and transactions (``base``), memory reads
(``memories``), memory writes, history and forget (``changes``), messages, jobs.
"""

from __future__ import annotations

import numpy as np

from daemon.memory.filters import Filters
from daemon.memory.store.records import Scope
from daemon.memory.store.sqlite.changes import MemoryWrites
from daemon.memory.store.sqlite.jobs import Jobs
from daemon.memory.store.sqlite.messages import Messages


class SqliteStore(MemoryWrites, Messages, Jobs):
    """All SQL lives in this package; callers see rows and dataclasses."""

    # Memory keeps hnswlib indexes of this store's vectors (derived, rebuildable files).
    has_vector_index = False

    async def vector_search(
        self, scope: Scope, qvec: np.ndarray, k: int, filters: Filters = None
    ) -> list[tuple[int, float]]:
        """Exact: every live vector in scope (filtered or agent/run scopes)."""
        nums, vecs = await self.embeddings(scope, filters)
        if not nums:
            return []
        sims = vecs @ qvec
        top = np.argsort(-sims)[:k]
        return [(nums[i], float(sims[i])) for i in top]


__all__ = ["SqliteStore"]
