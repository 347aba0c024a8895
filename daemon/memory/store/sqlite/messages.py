"""The SQLite store's dialogue lines: a turn's messages with its extraction job, and the
recent lines of a session."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from daemon.memory.store.records import JOB_EXTRACT, Exchange, WriteGuard, now_iso
from daemon.memory.store.sqlite import forget
from daemon.memory.store.sqlite.base import SqliteBase
from daemon.memory.store.sqlite.jobs import insert_job

log = logging.getLogger(__name__)


class Messages(SqliteBase):
    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        """Turns' messages and their extraction jobs, all in one transaction: never a message
        without its job, and one fsync for however many turns waited (group commit)."""
        ts = now_iso()
        async with self.tx() as w:
            for ex in exchanges:
                if ex.since is not None and await forget.is_void(
                        w, WriteGuard(ex.user_id, ex.agent_id, None, since=ex.since)):
                    log.info("a turn said before a forget of its user was not recorded")
                    continue
                await w.execute(
                    "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                    "interrupted, created_at) VALUES (?, ?, ?, 'user', ?, 0, ?)",
                    (ex.session_id, ex.user_id, ex.agent_id, ex.user_text, ts),
                )
                if ex.answer:
                    await w.execute(
                        "INSERT INTO messages(session_id, user_id, agent_id, role, content, "
                        "interrupted, created_at) VALUES (?, ?, ?, 'assistant', ?, ?, ?)",
                        (ex.session_id, ex.user_id, ex.agent_id, ex.answer,
                         int(ex.interrupted), ts),
                    )
                if ex.job is not None:
                    await insert_job(w, JOB_EXTRACT, ex.user_id, ex.job, ts)

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        async with self.r.execute(
            "SELECT role, content, interrupted FROM messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
            (session_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [{"role": r[0], "content": r[1], "interrupted": bool(r[2])} for r in reversed(rows)]
