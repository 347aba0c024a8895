"""The SQLite store's memory writes: decided changes with their history, import/export,
reset and forget (the forget SQL itself is in ``forget.py``)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.memory.store.records import (
    FACT,
    KINDS,
    Applied,
    Change,
    Forgotten,
    MemoryRow,
    Scope,
    WriteGuard,
    now_iso,
    partition_of,
    text_hash,
)
from daemon.memory.store.sqlite import forget
from daemon.memory.store.sqlite.memories import MemoryReads

log = logging.getLogger(__name__)


class MemoryWrites(MemoryReads):
    """Every change to memories and history, one transaction per call."""

    async def apply(
        self, changes: Sequence[Change], *, complete_job: int | None = None, at: str | None = None,
        guard: WriteGuard | None = None,
    ) -> list[Applied]:
        """Apply decided changes atomically (and mark ``complete_job`` done in the same
        transaction, so a job's effects and its completion are never split by a crash).
        ``at``: when the user said what the changes come from (default: now). ``guard``: apply
        nothing if its scope was forgotten since the write began (or its job was deleted)."""
        applied: list[Applied] = []
        ts = at or now_iso()
        async with self.tx():
            if guard is not None and await forget.is_void(self.w, guard):
                log.info("a write begun before a forget of its scope was dropped")
                return []
            for ch in changes:
                result = await self._apply_one(ch, ts)
                if result is not None:
                    applied.append(result)
            await self._bump(a.partition for a in applied)
            if complete_job is not None:
                await self.w.execute(
                    "UPDATE jobs SET state = 'done', updated_at = ?, last_error = NULL WHERE id = ?",
                    (now_iso(), complete_job),
                )
        return applied

    async def _history(self, memory_id: str, owner: Scope, old: str | None, new: str | None,
                       event: str, ts: str, actor: str) -> None:
        await self.w.execute(
            "INSERT INTO history(id, memory_id, user_id, agent_id, run_id, old_memory, "
            "new_memory, event, created_at, actor, is_deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), memory_id, owner.user_id, owner.agent_id, owner.run_id, old, new,
             event, ts, actor, 1 if event == "DELETE" else 0),
        )

    async def _apply_one(self, ch: Change, ts: str) -> Applied | None:
        w = self.w
        if ch.event == "ADD":
            if ch.memory_id is not None:  # a given id is added once (a re-run job's episodes)
                async with w.execute("SELECT 1 FROM memories WHERE id = ?", (ch.memory_id,)) as c:
                    if await c.fetchone():
                        return None
            mid = ch.memory_id or str(uuid.uuid4())
            kind = ch.scope.kind or FACT
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            cur = await w.execute(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid,
                    ch.scope.user_id,
                    ch.scope.agent_id,
                    ch.scope.run_id,
                    ch.text,
                    text_hash(ch.text),
                    None if emb is None else emb.tobytes(),
                    ch.embedder,
                    json.dumps(ch.metadata, ensure_ascii=False),
                    ts,
                    ts,
                    ts,
                    kind,
                ),
            )
            await self._history(mid, ch.scope, None, ch.text, "ADD", ts, ch.actor)
            return Applied(
                "ADD", mid, ch.text, None, int(cur.lastrowid or 0),
                partition_of(ch.scope.user_id, kind), emb,
            )
        assert ch.memory_id is not None
        async with w.execute(
            "SELECT num, text, user_id, agent_id, run_id, valid_to, kind FROM memories WHERE id = ?",
            (ch.memory_id,),
        ) as c:
            row = await c.fetchone()
        if row is None:
            return None
        num, old_text, user_id, agent_id, run_id, valid_to, kind = row
        owner = Scope(user_id, agent_id, run_id, kind)
        part = partition_of(user_id, kind)
        if ch.event == "UPDATE":
            if valid_to is not None:
                return None
            emb = None if ch.embedding is None else np.asarray(ch.embedding, np.float32)
            params: list[Any] = [ch.text, text_hash(ch.text), ts]
            sets = "text = ?, hash = ?, updated_at = ?"
            if emb is not None:
                sets += ", embedding = ?, embedder = ?"
                params += [emb.tobytes(), ch.embedder]
            if ch.metadata:
                sets += ", metadata = json_patch(metadata, ?)"
                params.append(json.dumps(ch.metadata, ensure_ascii=False))
            await w.execute(f"UPDATE memories SET {sets} WHERE num = ?", [*params, num])
            await self._history(ch.memory_id, owner, old_text, ch.text, "UPDATE", ts, ch.actor)
            return Applied("UPDATE", ch.memory_id, ch.text, old_text, num, part, emb)
        if ch.event == "CLOSE":
            if valid_to is not None:
                return None
            await w.execute("UPDATE memories SET valid_to = ?, updated_at = ? WHERE num = ?", (ts, ts, num))
            await self._history(ch.memory_id, owner, old_text, None, "CLOSE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        if ch.event == "DELETE":
            # An explicit delete is the user's "forget this": the row goes and so does every
            # text of it in history (DESIGN: forget means forget); the DELETE event stays, as
            # in mem0, without the text. A memory the engine retires is CLOSEd instead, and its
            # history keeps the old text like mem0's.
            await w.execute("DELETE FROM memories WHERE num = ?", (num,))
            await w.execute("UPDATE history SET old_memory = NULL, new_memory = NULL, "
                            "is_deleted = 1 WHERE memory_id = ?", (ch.memory_id,))
            await self._history(ch.memory_id, owner, None, None, "DELETE", ts, ch.actor)
            return Applied("DELETE", ch.memory_id, old_text, old_text, num, part, None)
        raise ValueError(f"unknown change event {ch.event!r}")

    async def entities(self) -> list[dict[str, Any]]:
        """Every user with memories: live and closed counts, last change."""
        async with self.r.execute(
            "SELECT coalesce(user_id, ''), sum(valid_to IS NULL AND kind = 'fact'), "
            "sum(valid_to IS NOT NULL AND kind = 'fact'), min(created_at), max(updated_at), "
            "sum(kind = 'episode') FROM memories GROUP BY coalesce(user_id, '') "
            "ORDER BY max(updated_at) DESC"
        ) as cur:
            rows = await cur.fetchall()
        return [
            {"id": r[0], "name": r[0], "type": "user", "total_memories": int(r[1] or 0),
             "closed_memories": int(r[2] or 0), "episodes": int(r[5] or 0),
             "created_at": r[3], "updated_at": r[4]}
            for r in rows
        ]

    async def export_rows(self, scope: Scope) -> list[tuple[MemoryRow, list[dict[str, Any]]]]:
        """Every memory of a scope (closed ones too) with its history, oldest first."""
        rows = await self.list(scope, limit=None, include_closed=True)
        return [(row, await self.history(row.id)) for row in rows]

    async def import_row(
        self, item: dict[str, Any], embedding: np.ndarray | None, embedder: str | None
    ) -> bool:
        """Insert one exported memory with its history, keeping ids and times; False if a
        memory with that id exists already (so importing twice changes nothing)."""
        async with self.tx() as w:
            async with w.execute("SELECT 1 FROM memories WHERE id = ?", (item["id"],)) as c:
                if await c.fetchone():
                    return False
            emb = None if embedding is None else np.asarray(embedding, np.float32).tobytes()
            kind = item.get("kind") if item.get("kind") in KINDS else FACT
            await w.execute(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, hash, embedding, "
                "embedder, metadata, created_at, updated_at, valid_from, valid_to, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item["id"], item.get("user_id"), item.get("agent_id"), item.get("run_id"),
                 item["memory"], text_hash(item["memory"]), emb, embedder,
                 json.dumps(item.get("metadata") or {}, ensure_ascii=False),
                 item["created_at"], item["updated_at"],
                 item.get("valid_from") or item["created_at"], item.get("valid_to"), kind),
            )
            # A restore: the exported history replaces whatever a forget left of this id.
            await w.execute("DELETE FROM history WHERE memory_id = ?", (item["id"],))
            for h in item.get("history", []):
                await w.execute(
                    "INSERT OR REPLACE INTO history(id, memory_id, user_id, agent_id, run_id, "
                    "old_memory, new_memory, event, created_at, actor, is_deleted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (h["id"], item["id"], item.get("user_id"), item.get("agent_id"),
                     item.get("run_id"), h.get("old_memory"),
                     h.get("new_memory"), "CLOSE" if h.get("closed") else h["event"],
                     h["created_at"], h.get("actor_id") or "import", int(bool(h.get("is_deleted")))),
                )
            if item.get("valid_to") is None:
                await self._bump([partition_of(item.get("user_id"), kind)])
        return True

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        async with self.r.execute(
            "SELECT id, memory_id, old_memory, new_memory, event, created_at, actor, is_deleted,"
            " user_id FROM history WHERE memory_id = ? ORDER BY seq",
            (memory_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            {
                "id": r[0],
                "memory_id": r[1],
                "old_memory": r[2],
                "new_memory": r[3],
                "event": "DELETE" if r[4] == "CLOSE" else r[4],
                "closed": r[4] == "CLOSE",
                "created_at": r[5],
                "updated_at": None,
                "actor_id": r[6],
                "is_deleted": bool(r[7]),
                "user_id": r[8],
                "role": None,  # mem0's field: who spoke (we record the actor instead)
            }
            for r in rows
        ]

    async def reset(self) -> None:
        async with self.tx():
            # A scope of everything: its tombstone voids every write in flight.
            await forget.forget_scope(self.w, None, None, None, now_iso())
            await self.w.execute("DELETE FROM meta WHERE key LIKE 'index_gen:%'")
            await forget.purge_fts(self.w)
        await self.truncate_wal()

    # -- forget (the SQL is in forget.py) --------------------------------------------------

    async def forget_mark(self) -> int:
        """The newest forget's number; pass it as ``WriteGuard.since`` / ``Exchange.since``."""
        return await forget.mark(self.r)

    async def forget_scope(self, scope: Scope) -> Forgotten:
        """Remove everything of a scope for good (see ``daemon.memory.forget``), one
        transaction; then the WAL is emptied so no old copy of the text stays on disk."""
        async with self.tx() as w:
            gone = await forget.forget_scope(w, scope.user_id, scope.agent_id, scope.run_id,
                                             now_iso())
            await self._bump(partition_of(u, k) for u, k in gone.removed)
            if scope.user_id is not None and scope.agent_id is None and scope.run_id is None:
                # The whole user is gone: not even its id stays, as an index generation key.
                keys = [f"index_gen:{partition_of(scope.user_id, k)}" for k in KINDS]
                await w.execute("DELETE FROM meta WHERE key IN (?, ?)", keys)
            await forget.purge_fts(w)
        await self.truncate_wal()
        return gone
