"""Scope ids and filters together: what a get_all / search is confined to.

mem0 2.x puts the scope inside the filters (``filters={"user_id": "alice"}``), older callers pass
``user_id=`` beside them; both arrive here. A plain id at the top level of the filters (or of a
top-level AND) becomes the call's scope, so the store keeps its per-user fast path; anything else
(``in``, OR over users, ``*``, ``ne``) stays in the tree. Every call must be confined by some scope
key, as in mem0; ``{"user_id": "*"}`` says "across users" explicitly.

The REST layer still asks a device key for its own plain ``user_id``, which every filter is
ANDed with, so no filter shape reaches another user's memories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daemon.memory.filters.ast import EQ, SCOPE, And, Cmp, Node, Not, Or, walk
from daemon.memory.filters.parse import SCOPE_KEYS, parse

Filters = Mapping[str, Any] | Node | None


@dataclass(frozen=True)
class Scoped:
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    where: Node | None  # the rest of the filters

    def ids(self) -> dict[str, str | None]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}


def to_tree(filters: Filters) -> Node | None:
    """A parsed tree from a mapping (checked) or an already parsed tree."""
    if filters is None or isinstance(filters, (Cmp, And, Or, Not)):
        return filters
    return parse(filters)


def resolve(filters: Filters, *, user_id: str | None = None, agent_id: str | None = None,
            run_id: str | None = None) -> Scoped:
    """Split ``filters`` into the call's scope ids and the remaining tree; ValueError when
    nothing confines the call to a scope."""
    ids: dict[str, str | None] = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    tree = to_tree(filters)
    top = list(tree.items) if isinstance(tree, And) else [tree] if tree is not None else []
    rest: list[Node] = []
    for node in top:
        if isinstance(node, Cmp) and node.field.kind == SCOPE and node.op == EQ \
                and isinstance(node.value, str):
            name = node.field.name
            if ids[name] is None:
                ids[name] = node.value
                continue
            if ids[name] == node.value:
                continue  # the same id twice
        rest.append(node)  # a different id than the argument: both must hold (nothing will)
    where = rest[0] if len(rest) == 1 else And(tuple(rest)) if rest else None
    if all(v is None for v in ids.values()) and not names_scope(where):
        raise ValueError(
            "one of user_id, agent_id or run_id is required (as an argument or in filters; "
            '{"user_id": "*"} means every user)')
    return Scoped(ids["user_id"], ids["agent_id"], ids["run_id"], where)


def names_scope(node: Node | None) -> bool:
    return node is not None and any(c.field.kind == SCOPE for c in walk(node))


__all__ = ["SCOPE_KEYS", "Filters", "Scoped", "names_scope", "resolve", "to_tree"]
