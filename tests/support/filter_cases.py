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
