"""Filter cases shared by the SQLite and PostgreSQL renderer tests: the same rows, the same
filters, the same expected ids — one language, two dialects."""

from __future__ import annotations

from typing import Any

ROWS = [  # (id, user, agent, run, text, metadata, created_at)
    ("m1", "alice", "a1", None, "Likes Green Tea", {"source": "test", "n": 1, "ok": True,
                                                     "categories": ["food", "drink"]},
     "2024-01-01T00:00:00.000000+00:00"),
    ("m2", "alice", None, "r1", "Lives in Berlin", {"source": "chat", "n": 2.5,
                                                     "categories": "home"},
     "2024-06-15T12:00:00.000000+00:00"),
    ("m3", "bob", "a1", None, "喜欢喝绿茶", {"source": "test", "n": 3, "when": "2024-03-01"},
     "2025-01-01T08:00:00.000000+08:00"),  # = 2025-01-01T00:00Z, stored with an offset
    ("m4", "carol", None, None, "Has a cat", {"n": "3", "note": None},
     "2025-06-01T00:00:00.000000+00:00"),
]

CASES: list[tuple[dict[str, Any], list[str]]] = [
    # the metadata nested form (platform) and the flat form (OSS) mean the same
    ({"metadata": {"source": "test"}}, ["m1", "m3"]),
    ({"source": "test"}, ["m1", "m3"]),
    ({"metadata": {"source": {"in": ["chat", "x"]}, "n": {"gte": 2}}}, ["m2"]),
    ({"metadata": {"source": "*"}}, ["m1", "m2", "m3"]),
    ({"note": "*"}, []),  # a JSON null is not a value
    # numbers compare with numbers only: m4's "3" is text
    ({"n": {"gt": 2}}, ["m2", "m3"]),
    ({"n": {"lte": 2.5}}, ["m1", "m2"]),
    ({"n": {"gte": "3"}}, ["m4"]),
    ({"when": {"lt": "2024-06"}}, ["m3"]),
    ({"ok": True}, ["m1"]),
    # contains / icontains: memory text ("keywords") and string metadata
    ({"keywords": {"contains": "Tea"}}, ["m1"]),
    ({"keywords": {"contains": "tea"}}, []),
    ({"keywords": {"icontains": "GREEN tea"}}, ["m1"]),
    ({"keywords": "berlin"}, ["m2"]),  # a plain value is icontains
    ({"keywords": {"contains": "绿茶"}}, ["m3"]),
    ({"source": {"contains": "es"}}, ["m1", "m3"]),
    ({"source": {"icontains": "CHA"}}, ["m2"]),
    ({"n": {"contains": "3"}}, ["m4"]),  # numbers are not text
    # memory_ids
    ({"memory_ids": ["m2", "m4", "nope"]}, ["m2", "m4"]),
    ({"memory_ids": {"in": ["m3"]}}, ["m3"]),
    ({"memory_ids": {"nin": ["m1", "m3"]}}, ["m2", "m4"]),
    ({"memory_ids": "m1"}, ["m1"]),
    # categories: metadata["categories"], a list (one string counts as a list of one)
    ({"categories": {"contains": "food"}}, ["m1"]),
    ({"categories": "home"}, ["m2"]),
    ({"categories": {"in": ["drink", "home"]}}, ["m1", "m2"]),
    ({"categories": ["drink"]}, ["m1"]),
    ({"categories": {"nin": ["food"]}}, ["m2", "m3", "m4"]),
    ({"categories": "*"}, ["m1", "m2"]),
    # scope keys: eq, in, ne, nin, wildcard, OR over users
    ({"user_id": {"in": ["alice", "carol"]}}, ["m1", "m2", "m4"]),
    ({"user_id": {"ne": "alice"}}, ["m3", "m4"]),
    ({"user_id": {"nin": ["alice", "bob"]}}, ["m4"]),
    ({"agent_id": "*"}, ["m1", "m3"]),
    ({"run_id": {"eq": "*"}}, ["m2"]),
    ({"OR": [{"user_id": "bob"}, {"user_id": "carol"}]}, ["m3", "m4"]),
    ({"AND": [{"user_id": "alice"}, {"agent_id": "a1"}]}, ["m1"]),
    # times: instants, any offset; a bare date is its midnight UTC; Unix seconds
    ({"created_at": {"gte": "2024-06-15T12:00:00Z"}}, ["m2", "m3", "m4"]),
    ({"created_at": {"gt": "2024-06-15T14:00:00+02:00"}}, ["m3", "m4"]),
    ({"created_at": {"eq": "2025-01-01"}}, ["m3"]),
    ({"created_at": {"lt": "2025-01-01T07:59:59+08:00"}}, ["m1", "m2"]),
    ({"created_at": {"gte": "2024-02-01", "lte": "2025-01-01"}}, ["m2", "m3"]),
    ({"updated_at": {"ne": "2024-01-01T00:00:00"}}, ["m2", "m3", "m4"]),
    ({"created_at": {"gte": 1735689600}}, ["m3", "m4"]),  # 2025-01-01T00:00Z
    # logic, nested, NOT as a mapping or a list ("none of these")
    ({"NOT": {"source": "test"}}, ["m2", "m4"]),
    ({"NOT": [{"source": "test"}, {"user_id": "carol"}]}, ["m2"]),
    ({"OR": [{"AND": [{"user_id": "alice"}, {"n": {"gt": 2}}]}, {"keywords": "cat"}]}, ["m2", "m4"]),
    ({"user_id": "alice", "NOT": {"categories": "food"}}, ["m2"]),
    ({"OR": [{"created_at": {"lt": "2024-02-01"}}, {"memory_ids": ["m4"]}]}, ["m1", "m4"]),
    ({"OR": [{}, {"user_id": "bob"}]}, ["m1", "m2", "m3", "m4"]),  # an empty branch is "any"
]


# -- a real store: memories with scopes, metadata and known times (Python API and REST) -----

# key, scope, text, metadata, timestamp
SEED: list[tuple[str, dict[str, str], str, dict[str, Any] | None, str]] = [
    ("a1", {"user_id": "alice"}, "I like green tea",
     {"source": "test", "priority": 1, "categories": ["food"]}, "2020-01-15T10:00:00+00:00"),
    ("a2", {"user_id": "alice"}, "I live in Berlin", {"source": "chat", "priority": 5},
     "2021-06-01T00:00:00+00:00"),
    ("a3", {"user_id": "alice", "agent_id": "coach"}, "Training for a marathon",
     {"source": "test", "priority": 3, "categories": ["health", "sport"]},
     "2023-03-10T09:30:00+00:00"),
    # stored with its own offset: 2020-01-01T01:00Z, inside 2020 although the text says 2019
    ("b1", {"user_id": "bob"}, "Bob likes coffee", {"source": "test"},
     "2019-12-31T23:00:00-02:00"),
    ("c1", {"user_id": "carol"}, "Carol has a cat", None, "2024-02-02T00:00:00+00:00"),
]

FORMS: list[tuple[dict[str, Any], dict[str, str], list[str]]] = [  # (filters, extra kwargs, expected keys)
    ({"user_id": "alice", "metadata": {"source": "test"}}, {}, ["a1", "a3"]),
    ({"user_id": "alice", "source": "test"}, {}, ["a1", "a3"]),  # OSS flat form
    ({"source": "chat"}, {"user_id": "alice"}, ["a2"]),  # scope as an argument
    ({"user_id": "alice", "keywords": {"icontains": "BERLIN"}}, {}, ["a2"]),
    ({"user_id": {"in": ["alice", "bob"]}}, {}, ["a1", "a2", "a3", "b1"]),
    ({"OR": [{"user_id": "bob"}, {"user_id": "carol"}]}, {}, ["b1", "c1"]),
    ({"user_id": "*", "memory_ids": ["a2", "c1"]}, {}, ["a2", "c1"]),
    ({"user_id": "alice", "created_at": {"gte": "2021-01-01"}}, {}, ["a2", "a3"]),
    ({"user_id": "*", "created_at": {"gte": "2020-01-01T00:00:00Z", "lt": "2021-01-01"}}, {},
     ["a1", "b1"]),
    # the same instant written with another offset
    ({"user_id": "*", "updated_at": {"lte": "2020-01-01T03:00:00+02:00"}}, {}, ["b1"]),
    ({"user_id": "alice", "priority": {"gt": 2}}, {}, ["a2", "a3"]),
    ({"user_id": "alice", "categories": {"in": ["sport"]}}, {}, ["a3"]),
    ({"user_id": "alice", "NOT": {"source": "test"}}, {}, ["a2"]),
    ({"AND": [{"user_id": "alice"}, {"agent_id": "coach"}]}, {}, ["a3"]),
    ({"user_id": "alice", "metadata": {"priority": {"lte": 3}},
      "OR": [{"categories": "food"}, {"keywords": {"contains": "marathon"}}]}, {}, ["a1", "a3"]),
    ({"user_id": "*"}, {}, ["a1", "a2", "a3", "b1", "c1"]),
    ({"user_id": {"ne": "alice"}, "agent_id": {"nin": ["coach"]}}, {}, ["b1", "c1"]),
    # AND / OR / NOT combined with scope ids
    ({"OR": [{"user_id": "bob"}, {"AND": [{"user_id": "alice"}, {"source": "chat"}]}]}, {},
     ["a2", "b1"]),
    ({"user_id": "*", "NOT": {"user_id": {"in": ["alice", "bob"]}}}, {}, ["c1"]),
    ({"user_id": "*", "NOT": [{"user_id": "alice"}, {"user_id": "carol"}]}, {}, ["b1"]),
    ({"AND": [{"user_id": {"in": ["alice", "bob"]}}, {"NOT": {"source": "test"}}]}, {}, ["a2"]),
    ({"OR": [{"agent_id": "coach"}, {"run_id": "*"}, {"user_id": "carol"}]}, {}, ["a3", "c1"]),
    ({"source": "test"}, {"agent_id": "coach"}, ["a3"]),
]


def with_ids(filters: dict, ids: dict[str, str]) -> dict:
    """``memory_ids`` are written with seed keys in FORMS; the real ids are uuids."""
    if "memory_ids" in filters:
        return {**filters, "memory_ids": [ids[k] for k in filters["memory_ids"]]}
    return filters


def keys_of(result: dict, ids: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return sorted(by_id[r["id"]] for r in result["results"])
