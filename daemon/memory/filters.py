"""mem0-style metadata filters compiled to a parameterised SQL condition.

Supported: ``{"key": value}`` (eq), ``{"key": {"eq"|"ne"|"in"|"nin"|"gt"|"gte"|"lt"|"lte":
...}}``, ``{"AND": [...]}``, ``{"OR": [...]}``, ``{"NOT": {...}}``; several keys in one dict
are ANDed. Keys ``user_id``, ``agent_id``, ``run_id`` address the scope columns, any other key a
metadata field. Values are always bound parameters; keys are checked against a strict pattern.
"""

from __future__ import annotations

import re
from typing import Any

SCOPE_KEYS = ("user_id", "agent_id", "run_id")
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class FilterError(ValueError):
    """A filter that cannot be understood; the message says which part."""


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:  # SQLite raises OverflowError
        raise FilterError(f"filter {where}: integer out of range")
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise FilterError(f"filter {where}: value must be a string, number, boolean or null")


def _column(key: str) -> str:
    if key in SCOPE_KEYS:
        return key
    if not _KEY.match(key):
        raise FilterError(f"filter key {key!r} is not allowed (letters, digits, _ . - only)")
    return f"json_extract(metadata, '$.\"{key}\"')"


def _leaf(key: str, cond: Any, params: list[Any]) -> str:
    col = _column(key)
    if not isinstance(cond, dict):
        cond = {"eq": cond}
    parts: list[str] = []
    for op, value in cond.items():
        if op in ("in", "nin"):
            if not isinstance(value, (list, tuple)) or not value:
                raise FilterError(f"filter {key}.{op}: needs a non-empty list")
            marks = ",".join("?" for _ in value)
            params.extend(_scalar(v, f"{key}.{op}") for v in value)
            if op == "nin":  # like ne: a memory without the key is "not in" the list
                parts.append(f"({col} IS NULL OR {col} NOT IN ({marks}))")
            else:
                parts.append(f"{col} IN ({marks})")
        elif op in _OPS:
            v = _scalar(value, f"{key}.{op}")
            if v is None:
                parts.append(f"{col} IS {'NOT ' if op == 'ne' else ''}NULL")
            else:
                params.append(v)
                if op == "ne":
                    parts.append(f"({col} IS NULL OR {col} != ?)")
                else:
                    parts.append(f"{col} {_OPS[op]} ?")
        else:
            raise FilterError(f"filter {key}: unknown operator {op!r}")
    return " AND ".join(parts) if parts else "1"


def compile_filters(filters: dict[str, Any] | None, params: list[Any]) -> str:
    """SQL condition for ``filters`` (appending bound values to ``params``); "1" for none."""
    if not filters:
        return "1"
    if not isinstance(filters, dict):
        raise FilterError("filters must be a mapping")
    parts: list[str] = []
    for key, cond in filters.items():
        if key in ("AND", "OR"):
            if not isinstance(cond, list) or not cond:
                raise FilterError(f"filter {key}: needs a non-empty list of filters")
            inner = [compile_filters(c, params) for c in cond]
            parts.append("(" + f" {key} ".join(inner) + ")")
        elif key == "NOT":
            # coalesce: a missing key makes the inner condition NULL, and NOT NULL is NULL.
            parts.append(f"NOT coalesce(({compile_filters(cond, params)}), 0)")
        else:
            parts.append(_leaf(key, cond, params))
    return " AND ".join(parts)
