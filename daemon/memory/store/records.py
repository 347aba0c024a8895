"""The records a memory store reads and writes: scopes, memory rows, changes, jobs, turns.

Backend-neutral (no SQL): the SQLite store and any other ``MemoryStore`` share them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

FACT = "fact"
EPISODE = "episode"
KINDS = (FACT, EPISODE)

# The one kind of job the memory worker runs: extract facts from a turn and apply them.
JOB_EXTRACT = "extract"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def text_hash(text: str) -> str:
    return hashlib.md5(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()


def partition_of(user_id: str | None, kind: str = FACT) -> str:
    """The HNSW partition a memory belongs to: one per user for facts, one for episodes."""
    return (user_id or "") if kind == FACT else f"{user_id or ''}\x1f{kind}"


def split_partition(partition: str) -> tuple[str, str]:
    """(user id or "", kind) of a partition name."""
    user, _, kind = partition.partition("\x1f")
    return user, kind or FACT


@dataclass
class Scope:
    """Which memories: the ids that are set must all match; ``kind`` None = facts and
    episodes (what a forget removes)."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    kind: str | None = FACT

    def is_empty(self) -> bool:
        return self.user_id is None and self.agent_id is None and self.run_id is None

    def columns(self) -> list[tuple[str, str]]:
        """(column, value) of every set field, for a backend to turn into its WHERE."""
        return [(col, value) for col in ("user_id", "agent_id", "run_id", "kind")
                if (value := getattr(self, col)) is not None]


@dataclass
class MemoryRow:
    num: int
    id: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    text: str
    hash: str
    embedding: np.ndarray | None
    embedder: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    valid_from: str
    valid_to: str | None
    kind: str = FACT

    def public(self) -> dict[str, Any]:
        """The mem0 v1 shape of a memory."""
        out: dict[str, Any] = {
            "id": self.id,
            "memory": self.text,
            "hash": self.hash,
            "metadata": self.metadata or None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        for key in ("user_id", "agent_id", "run_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.valid_to is not None:
            out["valid_to"] = self.valid_to
        if self.kind != FACT:
            out["kind"] = self.kind
        return out


@dataclass
class Change:
    """One decided change to apply: ADD, UPDATE (in place), CLOSE (contradicted) or DELETE."""

    event: str
    text: str = ""
    memory_id: str | None = None
    embedding: np.ndarray | None = None
    scope: Scope = field(default_factory=Scope)
    metadata: dict[str, Any] = field(default_factory=dict)
    embedder: str | None = None
    actor: str = "system"


@dataclass
class Applied:
    """What one applied change did, for the API result and the index."""

    event: str
    memory_id: str
    text: str
    previous: str | None
    num: int
    partition: str
    embedding: np.ndarray | None


@dataclass
class Exchange:
    """One turn to record: what the user said, the answer, and the memory job to queue."""

    session_id: str
    user_id: str | None
    agent_id: str | None
    user_text: str
    answer: str
    interrupted: bool
    job: dict[str, Any] | None
    since: int | None = None  # the newest forget when the turn began (see forget_mark)


@dataclass
class Job:
    id: int
    kind: str
    user_id: str | None
    payload: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "user_id": self.user_id,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class WriteGuard:
    """Commit only if nothing was forgotten under this write since it started.

    ``since``: the newest forget when the write started (``forget_mark``); ``job``: the write
    belongs to this job, which must still exist (a forget deletes its scope's jobs)."""

    user_id: str | None
    agent_id: str | None = None
    run_id: str | None = None
    since: int | None = None
    job: int | None = None


@dataclass
class Forgotten:
    """What a forget removed (counts, and the index labels per partition)."""

    facts: int = 0
    episodes: int = 0
    history: int = 0
    messages: int = 0
    jobs: int = 0
    removed: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (user, kind) -> nums
