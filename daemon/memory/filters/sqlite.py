"""Render a filter tree as an SQLite condition on the ``memories`` table (``?`` placeholders).

Metadata is JSON text read with ``json_extract`` (a JSON null reads as SQL NULL, i.e. missing);
booleans compare as 1/0 as SQLite stores them. Times go through ``strftime`` on both sides, so
stored and given instants with any offset compare as UTC (to the millisecond). Keys reach the SQL
only after ``parse`` checked them against a strict pattern; values are always parameters.
"""

from __future__ import annotations

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

_SQL_OPS = {EQ: "=", NE: "!=", GT: ">", GTE: ">=", LT: "<", LTE: "<="}
_TIME = "strftime('%Y-%m-%dT%H:%M:%f', {})"


def render(node: Node | None, params: list[Any]) -> str:
    """The condition for ``node`` ("1" for None), appending bound values to ``params``."""
    if node is None:
        return "1"
    if isinstance(node, And):
        return "(" + " AND ".join(render(n, params) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(render(n, params) for n in node.items) + ")"
    if isinstance(node, Not):
        # coalesce: a missing key makes a comparison NULL, and NOT NULL is NULL, not true.
        return f"NOT coalesce({render(node.item, params)}, 0)"
    return _cmp(node, params)


def _bind(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _marks(values: tuple[Any, ...], params: list[Any]) -> str:
    params.extend(_bind(v) for v in values)
    return ",".join("?" for _ in values)


def _cmp(c: Cmp, params: list[Any]) -> str:
    kind, op, value = c.field.kind, c.op, c.value
    if kind == CATEGORIES:
        return _categories(op, value, params)
    col = f"json_extract(metadata, '$.\"{c.field.name}\"')" if kind == META else c.field.name
    if op == EXISTS:
        return f"{col} IS NOT NULL"
    if op in (IN, NIN):
        assert isinstance(value, tuple)
        marks = _marks(value, params)
        # like ne: a memory without the key is "not in" the list
        return f"{col} IN ({marks})" if op == IN else f"({col} IS NULL OR {col} NOT IN ({marks}))"
    if op in (CONTAINS, ICONTAINS):
        params.append(value)
        test = f"instr({col}, ?) > 0" if op == CONTAINS else f"instr(lower({col}), lower(?)) > 0"
        if kind == META:
            return f"(json_type(metadata, '$.\"{c.field.name}\"') = 'text' AND {test})"
        return test
    if value is None:  # eq None: missing; ne None: present
        return f"{col} IS {'NOT ' if op == NE else ''}NULL"
    if kind == TIME:
        params.append(value.isoformat(timespec="microseconds"))  # type: ignore[union-attr]
        return f"{_TIME.format(col)} {_SQL_OPS[op]} {_TIME.format('?')}"
    params.append(_bind(value))
    if op == NE:
        return f"({col} IS NULL OR {col} != ?)"
    if op == EQ or kind != META:
        return f"{col} {_SQL_OPS[op]} ?"
    # Ranges compare like with like: numbers with numbers, text with text.
    types = "'text'" if isinstance(value, str) else "'integer', 'real'"
    return f"(json_type(metadata, '$.\"{c.field.name}\"') IN ({types}) AND {col} {_SQL_OPS[op]} ?)"


def _categories(op: str, value: Any, params: list[Any]) -> str:
    """``metadata.categories`` is a list of strings (one string counts as a list of one)."""
    if op == EXISTS:
        return "json_extract(metadata, '$.categories') IS NOT NULL"
    values = value if isinstance(value, tuple) else (value,)
    each = f"SELECT 1 FROM json_each(metadata, '$.categories') WHERE value IN ({_marks(values, params)})"
    return f"NOT EXISTS ({each})" if op in (NE, NIN) else f"EXISTS ({each})"
