"""SQL building blocks for PostgreSQL: numbered parameters, scopes, mem0 filters, rows.

Filters follow ``daemon.memory.filters`` (same operators, same errors, same key rule); a
metadata field is read as JSONB and compared with a JSONB value, so numbers compare as
numbers and strings as strings, and a JSON null counts as missing, as SQLite's json_extract.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.memory.filters import _KEY, SCOPE_KEYS, FilterError
from daemon.memory.store import MemoryRow, Scope

_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

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


def _jsonb(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return dumps(value)
    raise FilterError(f"filter {where}: value must be a string, number, boolean or null")


def _leaf(key: str, cond: Any, params: Params) -> str:
    if key in SCOPE_KEYS:
        col, cast, conv = key, "::text", lambda v, w: None if v is None else no_nul(str(v))
    elif _KEY.match(key):
        col, cast, conv = f"nullif(metadata -> {params.add(key)}, 'null'::jsonb)", "::jsonb", _jsonb
    else:
        raise FilterError(f"filter key {key!r} is not allowed (letters, digits, _ . - only)")
    if not isinstance(cond, dict):
        cond = {"eq": cond}
    parts: list[str] = []
    for op, value in cond.items():
        if op in ("in", "nin"):
            if not isinstance(value, (list, tuple)) or not value:
                raise FilterError(f"filter {key}.{op}: needs a non-empty list")
            marks = ",".join(params.add(conv(v, f"{key}.{op}")) + cast for v in value)
            if op == "nin":
                parts.append(f"({col} IS NULL OR {col} NOT IN ({marks}))")
            else:
                parts.append(f"{col} IN ({marks})")
        elif op in _OPS:
            if value is None:
                parts.append(f"{col} IS {'NOT ' if op == 'ne' else ''}NULL")
                continue
            if not isinstance(value, (bool, int, float, str)):
                raise FilterError(f"filter {key}.{op}: value must be a string, number, "
                                  "boolean or null")
            mark = params.add(conv(value, f"{key}.{op}")) + cast
            if op == "ne":
                parts.append(f"({col} IS NULL OR {col} <> {mark})")
            else:
                parts.append(f"{col} {_OPS[op]} {mark}")
        else:
            raise FilterError(f"filter {key}: unknown operator {op!r}")
    return " AND ".join(parts) if parts else "TRUE"


def filters_sql(filters: dict[str, Any] | None, params: Params) -> str:
    """SQL condition for mem0 ``filters`` (values bound in ``params``); TRUE for none."""
    if not filters:
        return "TRUE"
    if not isinstance(filters, dict):
        raise FilterError("filters must be a mapping")
    parts: list[str] = []
    for key, cond in filters.items():
        if key in ("AND", "OR"):
            if not isinstance(cond, list) or not cond:
                raise FilterError(f"filter {key}: needs a non-empty list of filters")
            parts.append("(" + f" {key} ".join(filters_sql(c, params) for c in cond) + ")")
        elif key == "NOT":
            parts.append(f"NOT coalesce(({filters_sql(cond, params)}), FALSE)")
        else:
            parts.append(_leaf(key, cond, params))
    return " AND ".join(parts)


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
