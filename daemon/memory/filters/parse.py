"""mem0's filter language (platform v2 and OSS flat form) parsed into a checked tree.

Accepted (see docs/filters.md for the full table):

* logic: ``{"AND": [...]}``, ``{"OR": [...]}``, ``{"NOT": {...}}`` or ``{"NOT": [...]}`` (none of
  them); several keys in one mapping are ANDed.
* fields: ``user_id``/``agent_id``/``run_id``; ``created_at``/``updated_at`` (ISO dates or Unix
  seconds, compared as instants); ``keywords`` (the memory text); ``memory_ids``; ``categories``
  (``metadata["categories"]``); ``{"metadata": {"k": ...}}``; and any other key is a metadata key
  (the OSS flat form ``{"source": "test"}``).
* conditions: a plain value (eq), ``"*"`` (present), or ``{op: value}`` with the operators in
  ``ast.OPERATORS``.

Anything else is a :class:`FilterError` naming the part — never a silent empty result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from daemon.memory.filters.ast import (
    CATEGORIES,
    CONTAINS,
    EQ,
    EXISTS,
    ICONTAINS,
    ID,
    IN,
    META,
    NE,
    NIN,
    OPERATORS,
    RANGE_OPS,
    SCOPE,
    TEXT,
    TIME,
    And,
    Cmp,
    Field,
    FilterError,
    Node,
    Not,
    Or,
    Scalar,
)

SCOPE_KEYS = ("user_id", "agent_id", "run_id")
TIME_KEYS = ("created_at", "updated_at")
LOGIC_KEYS = ("AND", "OR", "NOT")
# mem0 fields this server has no data for: an error rather than a metadata lookup that is
# always empty.
UNSUPPORTED = {
    "app_id": "there are no apps here: scope by user_id, agent_id or run_id",
    "org_id": "there are no organisations here",
    "project_id": "there are no projects here",
    "actor_id": "memories carry no actor here",
    "timestamp": "use created_at or updated_at",
}
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
# Which operators each field kind takes (EXISTS is written "*").
_OPS = {
    SCOPE: (EQ, NE, IN, NIN, EXISTS),
    TIME: (EQ, NE, *RANGE_OPS),
    TEXT: (CONTAINS, ICONTAINS),
    ID: (EQ, NE, IN, NIN),
    CATEGORIES: (EQ, NE, IN, NIN, CONTAINS, EXISTS),
    META: (*OPERATORS, EXISTS),
}
MAX_DEPTH = 16
MAX_LIST = 1000


def parse(filters: Mapping[str, Any]) -> Node | None:
    """The tree for a filter mapping; None when it constrains nothing (``{}``)."""
    if not isinstance(filters, Mapping):
        raise FilterError("filters must be a mapping")
    return _mapping(filters, 0)


def _mapping(filters: Any, depth: int) -> Node | None:
    if not isinstance(filters, Mapping):
        raise FilterError(f"filter {filters!r}: each condition must be a mapping")
    if depth > MAX_DEPTH:
        raise FilterError(f"filters nest deeper than {MAX_DEPTH} levels")
    parts: list[Node] = []
    for key, cond in filters.items():
        node = _entry(key, cond, depth)
        if node is not None:
            parts.append(node)
    return _and(parts)


def _and(parts: list[Node]) -> Node | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _list_of_conditions(key: str, cond: Any, depth: int) -> list[Node]:
    if isinstance(cond, Mapping):
        cond = [cond]  # NOT's single-mapping form
    if not isinstance(cond, list) or not cond:
        raise FilterError(f"filter {key}: needs a non-empty list of filters")
    out = []
    for c in cond:
        if not isinstance(c, Mapping):
            raise FilterError(f"filter {key}: each item must be a mapping, not {c!r}")
        node = _mapping(c, depth + 1)
        if node is not None:
            out.append(node)
    return out


def _entry(key: Any, cond: Any, depth: int) -> Node | None:
    if not isinstance(key, str):
        raise FilterError(f"filter key {key!r} must be a string")
    if key == "AND":
        if not isinstance(cond, list):
            raise FilterError("filter AND: needs a non-empty list of filters")
        return _and(_list_of_conditions(key, cond, depth))
    if key == "OR":
        if not isinstance(cond, list):
            raise FilterError("filter OR: needs a non-empty list of filters")
        items = _list_of_conditions(key, cond, depth)
        if len(items) < len(cond):  # an empty branch matches everything: so does the OR
            return None
        return items[0] if len(items) == 1 else Or(tuple(items))
    if key == "NOT":
        # A list means "none of these" (like a vector store's must_not).
        items = _list_of_conditions(key, cond, depth)
        if len(items) < (len(cond) if isinstance(cond, list) else 1):
            raise FilterError("filter NOT: an empty condition would exclude everything")
        return Not(items[0] if len(items) == 1 else Or(tuple(items)))
    if key.upper() in LOGIC_KEYS or key.lstrip("$").upper() in LOGIC_KEYS:
        raise FilterError(f"filter key {key!r}: logical operators are written {key.lstrip('$').upper()!r}")
    if key in UNSUPPORTED:
        raise FilterError(f"filter field {key!r} is not supported: {UNSUPPORTED[key]}")
    if key == "metadata":
        if not isinstance(cond, Mapping) or not cond:
            raise FilterError("filter metadata: needs a mapping of metadata keys to conditions")
        return _and([_field(Field(META, _meta_key(k)), c, f"metadata.{k}") for k, c in cond.items()])
    if key in SCOPE_KEYS:
        if cond is None:  # "any": mem0 clients build filters with unset ids as None
            return None
        return _field(Field(SCOPE, key), cond, key)
    if key in TIME_KEYS:
        return _field(Field(TIME, key), cond, key)
    if key == "keywords":
        return _field(Field(TEXT, "text"), cond if isinstance(cond, Mapping) else {ICONTAINS: cond},
                      key)
    if key == "memory_ids":
        return _field(Field(ID, "id"), {IN: cond} if isinstance(cond, list) else cond, key)
    if key == "categories":
        return _field(Field(CATEGORIES, "categories"),
                      {IN: cond} if isinstance(cond, list) else cond, key)
    return _field(Field(META, _meta_key(key)), cond, key)


def _meta_key(key: Any) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise FilterError(f"filter key {key!r} is not allowed (letters, digits, _ . - only)")
    return key


def _field(field: Field, cond: Any, where: str) -> Node:
    allowed = _OPS[field.kind]
    if cond == "*":
        if EXISTS not in allowed:
            raise FilterError(f"filter {where}: the wildcard '*' does not apply here")
        return Cmp(field, EXISTS)
    if not isinstance(cond, Mapping):
        cond = {EQ: cond}
    if not cond:
        raise FilterError(f"filter {where}: needs a value or an operator")
    parts: list[Node] = []
    for op, value in cond.items():
        if op not in OPERATORS:
            raise FilterError(f"filter {where}: unknown operator {op!r} "
                              f"(known: {', '.join(OPERATORS)})")
        if op not in allowed:
            raise FilterError(f"filter {where}: operator {op!r} does not apply to {where} "
                              f"(use {', '.join(o for o in allowed if o != EXISTS)})")
        parts.append(_cmp(field, op, value, f"{where}.{op}"))
    node = _and(parts)
    assert node is not None
    return node


def _cmp(field: Field, op: str, value: Any, where: str) -> Cmp:
    if op in (IN, NIN):
        if not isinstance(value, (list, tuple)) or not value:
            raise FilterError(f"filter {where}: needs a non-empty list")
        if len(value) > MAX_LIST:
            raise FilterError(f"filter {where}: at most {MAX_LIST} values")
        return Cmp(field, op, tuple(_value(field, op, v, where) for v in value))
    if value == "*" and op == EQ and EXISTS in _OPS[field.kind]:
        return Cmp(field, EXISTS)
    return Cmp(field, op, _value(field, op, value, where))


def _value(field: Field, op: str, value: Any, where: str) -> Any:
    if field.kind == TIME:
        return instant(value, where)
    if op in (CONTAINS, ICONTAINS) or field.kind in (SCOPE, ID, CATEGORIES, TEXT):
        if isinstance(value, int) and not isinstance(value, bool) and field.kind in (SCOPE, ID):
            return str(value)  # ids are strings; REST clients send numbers for numeric ids
        if not isinstance(value, str) or (op in (CONTAINS, ICONTAINS) and not value):
            raise FilterError(f"filter {where}: value must be a non-empty string")
        return value
    return scalar(value, where)


def scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise FilterError(f"filter {where}: integer out of range")  # SQLite's integers are 64-bit
    if isinstance(value, float) and value != value:
        raise FilterError(f"filter {where}: NaN is not a value")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise FilterError(f"filter {where}: value must be a string, number, boolean or null")


def instant(value: Any, where: str) -> datetime:
    """An ISO 8601 date or date-time (a bare date is its midnight; no offset means UTC), or Unix
    seconds, as an aware UTC datetime."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value, timezone.utc)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError, OSError):
        raise FilterError(f"filter {where}: {value!r} is not an ISO 8601 date or time, "
                          "or Unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
