"""What the server, CLI and web page need of the memory beyond mem0's API: export/import,
the users, the job queue, the dialogue record. Other layers use these, never the store."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from daemon.memory.store import Exchange, Job, MemoryStore, Scope
from daemon.memory.upkeep import IndexKeeper


class Operations:
    """Mixed into ``AsyncMemory``: needs its ``store``, ``keeper`` and ``_ready``."""

    store: MemoryStore
    keeper: IndexKeeper
    _ready: Callable[[], Coroutine[Any, Any, None]]

    async def import_items(self, items: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Import exported memories (ids, times, history kept); (imported, skipped). Running it
        twice imports nothing the second time."""
        await self._ready()
        return await self.keeper.import_items(items)

    async def export_items(
        self, *, user_id: str | None = None, agent_id: str | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every memory (closed ones too) with its history, as JSON-ready dicts."""
        await self._ready()
        out = []
        for row, history in await self.store.export_rows(Scope(user_id, agent_id, run_id, None)):
            item = row.public()
            item["valid_from"] = row.valid_from
            item["valid_to"] = row.valid_to
            item["history"] = history
            out.append(item)
        return out

    async def entities(self) -> list[dict[str, Any]]:
        await self._ready()
        return await self.store.entities()

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int:
        return await self.store.count(scope, include_closed=include_closed)

    async def jobs(self, states: Sequence[str] = ("pending", "running", "parked"),
                   limit: int = 500) -> list[Job]:
        return await self.store.jobs(tuple(states), limit=limit)

    async def retry_parked(self, job_id: int | None = None) -> int:
        return await self.store.retry_parked(job_id)

    async def forget_mark(self) -> int:
        """The newest forget; a turn read before a later forget is not written."""
        return await self.store.forget_mark()

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        return await self.store.recent_messages(session_id, limit)

    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        await self.store.record_exchanges(exchanges)

