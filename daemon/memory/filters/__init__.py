"""mem0's filter language: parse -> small typed tree -> SQL for a dialect (SQLite, PostgreSQL).

One implementation serves the Python API and REST: ``resolve`` splits a call's scope out of its
filters, ``compile_filters`` / ``compile_postgres`` render the rest. See docs/filters.md.
"""

from __future__ import annotations

from typing import Any

from daemon.memory.filters import postgres, sqlite
from daemon.memory.filters.ast import FilterError, Node
from daemon.memory.filters.parse import SCOPE_KEYS, parse
from daemon.memory.filters.scope import Filters, Scoped, resolve, to_tree


def compile_filters(filters: Filters, params: list[Any]) -> str:
    """SQLite condition for ``filters`` (a mapping or a parsed tree), appending bound values to
    ``params``; "1" for none."""
    return sqlite.render(to_tree(filters) if filters else None, params)


def compile_postgres(filters: Filters, params: list[Any]) -> str:
    """PostgreSQL condition (``$n`` numbered after the values already in ``params``); "TRUE"
    for none."""
    return postgres.render(to_tree(filters) if filters else None, params)


__all__ = ["SCOPE_KEYS", "FilterError", "Filters", "Node", "Scoped", "compile_filters",
           "compile_postgres", "parse", "resolve", "to_tree"]
