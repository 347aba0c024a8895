"""SQL building blocks for PostgreSQL: numbered parameters, scopes, mem0 filters, rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.memory.filters import FilterError, Filters, compile_postgres
from daemon.memory.store import MemoryRow, Scope

COLS = (
    "num, id, user_id, agent_id, run_id, text, hash, embedding, embedder, metadata, "
    "created_at, updated_at, valid_from, valid_to, kind"
)


def no_nul(value: Any) -> Any:
    """``value`` without NUL characters, which PostgreSQL text and JSONB cannot hold (SQLite
    can): a NUL never carries meaning in speech or memory text, so it is dropped."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {no_nul(k): no_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [no_nul(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for a JSONB parameter (NUL-free)."""
    return json.dumps(no_nul(value), ensure_ascii=False)


class Params(list[Any]):
    """Bound values; ``add`` returns the placeholder ($n) of the value it appends."""

    def add(self, value: Any) -> str:
        self.append(value)
        return f"${len(self)}"


def scope_sql(scope: Scope, params: Params, table: str = "") -> str:
    parts = []
    for col in ("user_id", "agent_id", "run_id", "kind"):
        value = getattr(scope, col)
        if value is not None:
            parts.append(f"{table}{col} = {params.add(str(value))}")
    return " AND ".join(parts) if parts else "TRUE"


def filters_sql(filters: Filters, params: Params) -> str:
    """SQL condition for mem0 ``filters`` (the shared PostgreSQL renderer, docs/filters.md),
    values bound in ``params``; TRUE for none. PostgreSQL text cannot hold NUL: a filter
    value with one is a FilterError (SQLite would merely match nothing)."""
    first = len(params)
    sql = compile_postgres(filters, params)
    if any(_has_nul(v) for v in params[first:]):
        raise FilterError("filter values cannot contain NUL characters")
    return sql


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or "\\u0000" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def as_array(value: Any) -> np.ndarray:
    """A pgvector value (``pgvector.Vector`` or an array) as float32 numpy."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


def to_row(r: Sequence[Any]) -> MemoryRow:
    emb = None if r[7] is None else as_array(r[7])
    meta = r[9]
    return MemoryRow(
        num=r[0], id=r[1], user_id=r[2], agent_id=r[3], run_id=r[4], text=r[5], hash=r[6],
        embedding=emb, embedder=r[8],
        metadata=json.loads(meta) if isinstance(meta, str) else dict(meta or {}),
        created_at=r[10], updated_at=r[11], valid_from=r[12], valid_to=r[13], kind=r[14],
    )
