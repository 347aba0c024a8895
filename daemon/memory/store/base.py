"""``MemoryStore``: what the memory engine needs of its source of truth, and nothing more.

``Memory``, the worker and a forget use a store only through these async methods; no
connection, transaction or query language shows through. ``SqliteStore`` implements it
(``daemon.memory.store.sqlite``); a PostgreSQL store implements the same methods.

Rules every implementation keeps (the tests pin them on SQLite):
- ``apply``, ``forget_scope``, ``record_exchanges``, ``import_row``, ``set_embeddings``,
  ``reset`` and every job method are each one transaction.
- A partition's ``generation`` changes with every committed change to its live vectors, from
  one counter for all partitions (a forgotten partition never gets an old generation back).
- A guarded write (``WriteGuard``) is dropped whole if its scope was forgotten after
  ``guard.since`` or its job no longer exists.
- A DELETE removes the memory and appends a DELETE event (with the text) to its history, as
  mem0 does; a forget removes the scope's texts for good (rows, history, search index).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from daemon.memory.filters import Filters
from daemon.memory.store.records import (
    Applied,
    Change,
    Exchange,
    Forgotten,
    Job,
    MemoryRow,
    Scope,
    WriteGuard,
)


@runtime_checkable
class MemoryStore(Protocol):
    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None: ...

    @property
    def is_open(self) -> bool: ...

    async def generation(self, partition: str) -> int:
        """The partition's change counter (0 if never changed): a saved index of another
        generation is out of date."""

    # -- memories: reads -------------------------------------------------------------------

    async def get(self, memory_id: str) -> MemoryRow | None: ...

    async def list(
        self, scope: Scope, filters: Filters = None, *,
        limit: int | None = 100, offset: int = 0, include_closed: bool = False,
        newest_first: bool = False,
    ) -> list[MemoryRow]:
        """Memories of a scope passing mem0 filters, oldest first (``newest_first``: newest)."""

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int: ...

    async def filter_nums(
        self, nums: Sequence[int], scope: Scope, filters: Filters
    ) -> dict[int, MemoryRow]:
        """The rows among ``nums`` that are live, in scope and pass the filters."""

    async def keyword_search(self, match: str, scope: Scope, limit: int) -> list[int]:
        """Nums of live memories in scope matching the keyword query (OR of quoted terms from
        ``keywords.keyword_query``, over ``keywords.index_words`` of each text), best BM25
        first; docs/retrieval.md says what another store must do."""

    async def embeddings(
        self, scope: Scope, filters: Filters = None
    ) -> tuple[list[int], np.ndarray]:
        """Live memories' nums and vectors in a scope (exact search)."""

    # True: ``vector_search`` walks a vector index kept in the store itself (PostgreSQL +
    # pgvector), so Memory keeps no hnswlib index; False: Memory searches plain user scopes in
    # its own hnswlib indexes of ``partition_vectors`` and asks ``vector_search`` only for
    # filtered or agent/run scopes.
    has_vector_index: bool

    async def vector_search(
        self, scope: Scope, qvec: np.ndarray, k: int, filters: Filters = None
    ) -> list[tuple[int, float]]:
        """(num, cosine similarity) of the ``k`` nearest live memories in scope, best first."""

    async def partition_vectors(self, partition: str) -> tuple[list[int], np.ndarray]:
        """Nums and vectors of one partition's live memories (what its index must hold)."""

    async def partitions(self) -> list[str]:
        """Every partition with live memories."""

    async def stale_embeddings(self, identity: str, batch: int = 256) -> list[tuple[int, str]]:
        """(num, text) of memories embedded by another model than ``identity`` (or not at all)."""

    async def count_stale_embeddings(self, identity: str) -> int: ...

    async def set_embeddings(self, rows: Sequence[tuple[int, np.ndarray]], identity: str) -> None: ...

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        """mem0's history of one memory, oldest first."""

    async def entities(self) -> list[dict[str, Any]]:
        """Every user with memories: live and closed counts, last change."""

    async def export_rows(self, scope: Scope) -> list[tuple[MemoryRow, list[dict[str, Any]]]]:
        """Every memory of a scope (closed ones too) with its history."""

    # -- memories: writes ------------------------------------------------------------------

    async def apply(
        self, changes: Sequence[Change], *, complete_job: int | None = None,
        at: str | None = None, guard: WriteGuard | None = None,
    ) -> list[Applied]:
        """Apply decided changes in one transaction (and mark ``complete_job`` done in it)."""

    async def import_row(
        self, item: dict[str, Any], embedding: np.ndarray | None, embedder: str | None
    ) -> bool:
        """Insert one exported memory with its history; False if its id exists already."""

    async def import_rows(
        self, items: Sequence[dict[str, Any]], embeddings: Sequence[np.ndarray | None],
        embedder: str | None,
    ) -> list[bool]:
        """``import_row`` for a batch, in one transaction (imports run at batch speed)."""

    async def reset(self) -> None:
        """Remove everything."""

    # -- forget ----------------------------------------------------------------------------

    async def forget_mark(self) -> int:
        """The newest forget's number (for ``WriteGuard.since`` / ``Exchange.since``)."""

    async def forget_scope(self, scope: Scope) -> Forgotten:
        """Remove everything of a scope for good (memories, history, messages, jobs)."""

    # -- messages --------------------------------------------------------------------------

    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Turns' messages and their extraction jobs, in one transaction."""

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]: ...

    # -- jobs ------------------------------------------------------------------------------

    async def enqueue(self, kind: str, user_id: str | None, payload: dict[str, Any]) -> int: ...

    async def requeue_running(self, keep: Sequence[int] = ()) -> int:
        """Jobs left 'running' go back to 'pending', except those in ``keep``."""

    async def claim_job(self, busy_users: Iterable[str | None] = ()) -> Job | None:
        """Take the oldest due pending job whose user has no job running (per-user order)."""

    async def get_job(self, job_id: int) -> Job | None: ...

    async def fail_job(self, job_id: int, error: str, *, retry_in_s: float | None) -> None:
        """Back to pending after ``retry_in_s``, or parked (None) with its error."""

    async def jobs(
        self, states: Sequence[str] = ("pending", "running", "parked"), limit: int = 100
    ) -> list[Job]: ...

    async def retry_parked(self, job_id: int | None = None) -> int: ...
