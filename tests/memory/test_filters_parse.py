"""Unit tests: mem0's filter language -> tree -> SQLite rows; errors name the part; scope split.

Runs rendered SQL on an in-memory SQLite table shaped like ``memories`` (the real store is
exercised in test_filters_real.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

import pytest

from daemon.memory.filters import FilterError, compile_filters, parse, resolve
from daemon.memory.filters.ast import EXISTS, SCOPE, And, Cmp, Field, Not, Or
from daemon.memory.filters.parse import instant
from tests.support.filter_cases import CASES, ROWS


@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE memories (num INTEGER PRIMARY KEY, id TEXT, user_id TEXT, "
                 "agent_id TEXT, run_id TEXT, text TEXT, metadata TEXT NOT NULL DEFAULT '{}', "
                 "created_at TEXT, updated_at TEXT)")
    for mid, u, a, r, text, meta, created in ROWS:
        conn.execute("INSERT INTO memories(id, user_id, agent_id, run_id, text, metadata, "
                     "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                     (mid, u, a, r, text, json.dumps(meta), created, created))
    yield conn
    conn.close()


def select(db, filters) -> list[str]:
    params: list = []
    sql = f"SELECT id FROM memories WHERE {compile_filters(filters, params)} ORDER BY num"
    return [r[0] for r in db.execute(sql, params)]


@pytest.mark.parametrize("filters,expected", CASES)
def test_each_form_selects_the_right_rows(db, filters, expected):
    assert select(db, filters) == expected


@pytest.mark.parametrize("filters,message", [
    ({"source": {"like": "t%"}}, "filter source: unknown operator 'like'"),
    ({"metadata": {"source": {"regex": "x"}}}, "metadata.source: unknown operator 'regex'"),
    ({"created_at": {"contains": "2024"}}, "operator 'contains' does not apply to created_at"),
    ({"created_at": {"gte": "last tuesday"}}, "created_at.gte: 'last tuesday' is not an ISO"),
    ({"created_at": "*"}, "wildcard"),
    ({"user_id": {"gt": "a"}}, "operator 'gt' does not apply to user_id"),
    ({"keywords": {"eq": "x"}}, "operator 'eq' does not apply to keywords"),
    ({"keywords": {"icontains": ""}}, "non-empty string"),
    ({"memory_ids": {"in": []}}, "non-empty list"),
    ({"memory_ids": {"in": [["x"]]}}, "must be a non-empty string"),
    ({"app_id": "x"}, "field 'app_id' is not supported"),
    ({"timestamp": {"gte": 1}}, "field 'timestamp' is not supported"),
    ({"or": [{"a": 1}]}, "logical operators are written 'OR'"),
    ({"$or": [{"a": 1}]}, "logical operators are written 'OR'"),
    ({"metadata": "test"}, "filter metadata: needs a mapping"),
    ({"metadata": {"bad key": 1}}, "'bad key' is not allowed"),
    ({"NOT": [{}]}, "would exclude everything"),
    ({"NOT": ["x"]}, "must be a mapping"),
    ({"AND": [{"a": 1}, "b"]}, "must be a mapping"),
    ({"source": {}}, "needs a value or an operator"),
    ({"n": float("nan")}, "NaN"),
    ({"n": {"in": list(range(1001))}}, "at most 1000"),
])
def test_errors_name_the_part(filters, message):
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace("$", r"\$")):
        parse(filters)


def test_nesting_is_bounded():
    f: dict = {"a": 1}
    for _ in range(40):
        f = {"NOT": f}
    with pytest.raises(FilterError, match="deeper than"):
        parse(f)


def test_the_tree_is_small_and_typed():
    tree = parse({"user_id": {"in": ["a", 1]}, "OR": [{"agent_id": "*"}, {"NOT": {"k": None}}]})
    assert tree == And((
        Cmp(Field(SCOPE, "user_id"), "in", ("a", "1")),
        Or((Cmp(Field(SCOPE, "agent_id"), EXISTS),
            Not(Cmp(Field("meta", "k"), "eq", None)))),
    ))
    created = parse({"created_at": {"gte": "2024-01-01T08:00:00+08:00"}})
    assert isinstance(created, Cmp) and created.value == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_instants_normalise_to_utc():
    assert instant("2024-05-01", "t") == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert instant("2024-05-01T10:00:00-05:00", "t") == datetime(2024, 5, 1, 15,
                                                                  tzinfo=timezone.utc)
    assert instant(0, "t") == datetime(1970, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(FilterError):
        instant(True, "t")


# -- scope: plain ids pulled out of the filters for the per-user fast path -------------------

def test_plain_ids_in_filters_become_the_scope():
    found = resolve({"user_id": "alice", "source": "test"})
    assert found.ids() == {"user_id": "alice", "agent_id": None, "run_id": None}
    assert found.where == parse({"source": "test"})
    found = resolve({"AND": [{"user_id": "alice"}, {"agent_id": "a1"}]})
    assert (found.user_id, found.agent_id, found.where) == ("alice", "a1", None)
    assert resolve({"user_id": "alice"}, user_id="alice").where is None


def test_an_argument_and_a_different_filter_id_both_hold():
    found = resolve({"user_id": "bob"}, user_id="alice")
    assert found.user_id == "alice" and found.where == parse({"user_id": "bob"})


@pytest.mark.parametrize("filters", [None, {}, {"source": "test"}, {"NOT": {"n": 1}}])
def test_a_scope_is_required(filters):
    with pytest.raises(ValueError, match="one of user_id, agent_id or run_id is required"):
        resolve(filters)
