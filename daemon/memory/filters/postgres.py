"""Render a filter tree as a PostgreSQL condition for asyncpg (``$n`` placeholders).

Assumed columns, as in the SQLite schema: ``id``, ``user_id``, ``agent_id``, ``run_id``,
``text`` (text), ``metadata`` (jsonb), ``created_at``/``updated_at`` (timestamptz, or ISO text:
both are cast to timestamptz and compared as instants). Metadata
values compare as jsonb (``metadata->'k' = $n::jsonb``, the parameter a JSON text, which is what
asyncpg's default jsonb codec takes), so strings, numbers and booleans behave as in SQLite; a JSON
null reads as missing (``->>`` gives SQL NULL). Times are bound as aware datetimes.
"""

from __future__ import annotations

import json
from typing import Any

from daemon.memory.filters.ast import (
    CATEGORIES,
    CONTAINS,
    EQ,
    EXISTS,
    GT,
    GTE,
    ICONTAINS,
    IN,
    LT,
    LTE,
    META,
    NE,
    NIN,
    TIME,
    And,
    Cmp,
    Node,
    Not,
    Or,
)

_SQL_OPS = {EQ: "=", NE: "<>", GT: ">", GTE: ">=", LT: "<", LTE: "<="}


def render(node: Node | None, params: list[Any]) -> str:
    """The condition for ``node`` ("TRUE" for None), appending bound values to ``params``; the
    placeholders continue from ``len(params)``, so a caller can bind its own values first."""
    if node is None:
        return "TRUE"
    if isinstance(node, And):
        return "(" + " AND ".join(render(n, params) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(render(n, params) for n in node.items) + ")"
    if isinstance(node, Not):
        return f"NOT coalesce({render(node.item, params)}, FALSE)"
    return _cmp(node, params)


def _bind(params: list[Any], value: Any) -> str:
    params.append(value)
    return f"${len(params)}"


def _cmp(c: Cmp, params: list[Any]) -> str:
    if c.field.kind == CATEGORIES:
        return _categories(c.op, c.value, params)
    if c.field.kind == META:
        return _meta(c.field.name, c.op, c.value, params)
    col, op, value = c.field.name, c.op, c.value
    if op == EXISTS:
        return f"{col} IS NOT NULL"
    if op == IN:
        return f"{col} = ANY({_bind(params, list(value))}::text[])"  # type: ignore[arg-type]
    if op == NIN:
        p = _bind(params, list(value))  # type: ignore[arg-type]
        return f"({col} IS NULL OR NOT ({col} = ANY({p}::text[])))"
    if op in (CONTAINS, ICONTAINS):
        p = _bind(params, value)
        return (f"strpos({col}, {p}::text) > 0" if op == CONTAINS
                else f"strpos(lower({col}), lower({p}::text)) > 0")
    if value is None:
        return f"{col} IS {'NOT ' if op == NE else ''}NULL"
    p = _bind(params, value)
    if c.field.kind == TIME:  # the cast makes ISO text columns compare as instants too
        return f"{col}::timestamptz {_SQL_OPS[op]} {p}::timestamptz"
    if op == NE:
        return f"({col} IS NULL OR {col} <> {p})"
    return f"{col} {_SQL_OPS[op]} {p}"


def _meta(key: str, op: str, value: Any, params: list[Any]) -> str:
    # key passed parse's strict pattern (letters, digits, _ . -): safe inside quotes.
    j, t = f"(metadata->'{key}')", f"(metadata->>'{key}')"
    if op == EXISTS:
        return f"{t} IS NOT NULL"
    if op in (IN, NIN):
        p = _bind(params, [json.dumps(v) for v in value])
        return f"{j} = ANY({p}::jsonb[])" if op == IN else f"({t} IS NULL OR NOT ({j} = ANY({p}::jsonb[])))"
    if op in (CONTAINS, ICONTAINS):
        p = _bind(params, value)
        test = (f"strpos({t}, {p}::text) > 0" if op == CONTAINS
                else f"strpos(lower({t}), lower({p}::text)) > 0")
        return f"(jsonb_typeof({j}) = 'string' AND {test})"
    if value is None:
        return f"{t} IS {'NOT ' if op == NE else ''}NULL"
    p = _bind(params, json.dumps(value))
    if op == NE:
        return f"({t} IS NULL OR {j} <> {p}::jsonb)"
    if op == EQ:
        return f"{j} = {p}::jsonb"
    # Ranges compare like with like: numbers with numbers, strings with strings.
    kind = "string" if isinstance(value, str) else "number"
    return f"(jsonb_typeof({j}) = '{kind}' AND {j} {_SQL_OPS[op]} {p}::jsonb)"


def _categories(op: str, value: Any, params: list[Any]) -> str:
    """``metadata.categories`` is a list of strings (one string counts as a list of one)."""
    j = "(metadata->'categories')"
    if op == EXISTS:
        return "(metadata->>'categories') IS NOT NULL"
    values = list(value) if isinstance(value, tuple) else [value]
    elems = (f"jsonb_array_elements_text(CASE WHEN jsonb_typeof({j}) = 'array' THEN {j} "
             f"ELSE jsonb_build_array({j}) END)")
    each = f"SELECT 1 FROM {elems} AS c(v) WHERE c.v = ANY({_bind(params, values)}::text[])"
    return f"NOT EXISTS ({each})" if op in (NE, NIN) else f"EXISTS ({each})"
