"""The typed tree a filter parses into: comparisons on fields, joined by AND / OR / NOT.

Renderers (``sqlite.py``, ``postgres.py``) turn a tree into a parameterised SQL condition; by the
time a tree exists every field, operator and value has been checked, so rendering cannot fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Field kinds: which column (or JSON path) a comparison reads.
SCOPE = "scope"  # user_id / agent_id / run_id columns
TIME = "time"  # created_at / updated_at (ISO instants)
TEXT = "text"  # the memory text ("keywords")
ID = "id"  # the memory id ("memory_ids")
CATEGORIES = "categories"  # metadata["categories"]: a list of strings (or one string)
META = "meta"  # any other metadata key

# Operators. "exists" is the wildcard "*": the field is present and not null.
EQ, NE, GT, GTE, LT, LTE = "eq", "ne", "gt", "gte", "lt", "lte"
IN, NIN, CONTAINS, ICONTAINS, EXISTS = "in", "nin", "contains", "icontains", "exists"
RANGE_OPS = (GT, GTE, LT, LTE)
OPERATORS = (EQ, NE, GT, GTE, LT, LTE, IN, NIN, CONTAINS, ICONTAINS)

Scalar = str | int | float | bool | None
Value = Scalar | datetime | tuple[Scalar, ...]


class FilterError(ValueError):
    """A filter that cannot be understood; the message names the part (REST answers 400)."""


@dataclass(frozen=True)
class Field:
    kind: str
    name: str  # column name, or the metadata key for META


@dataclass(frozen=True)
class Cmp:
    """``field op value``. ``in``/``nin`` hold a tuple; TIME values are aware UTC datetimes;
    ``eq``/``ne`` with None mean "missing" / "present"; ``exists`` has value None."""

    field: Field
    op: str
    value: Value = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cmp | And | Or | Not


def walk(node: Node) -> list[Cmp]:
    """Every comparison in a tree."""
    if isinstance(node, Cmp):
        return [node]
    if isinstance(node, Not):
        return walk(node.item)
    return [c for item in node.items for c in walk(item)]
