"""Unit tests: metadata filters -> parameterised SQL; rank fusion."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.memory.filters import FilterError, compile_filters
from daemon.memory.keywords import reciprocal_rank_fusion

# -- filters -------------------------------------------------------------------------------


@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE memories (num INTEGER PRIMARY KEY, user_id TEXT, agent_id TEXT, "
                 "run_id TEXT, metadata TEXT NOT NULL DEFAULT '{}')")
    rows = [
        ("u1", "a1", None, {"topic": "food", "n": 1, "ok": True, "tags.x": "dot"}),
        ("u1", None, "r1", {"topic": "home", "n": 2, "ok": False}),
        ("u2", "a1", None, {"topic": "food", "n": 3}),
        ("u2", None, None, {}),
    ]
    for u, a, r, meta in rows:
        conn.execute("INSERT INTO memories(user_id, agent_id, run_id, metadata) VALUES (?,?,?,?)",
                     (u, a, r, json.dumps(meta)))
    yield conn
    conn.close()


def select(db, filters) -> list[int]:
    params: list = []
    sql = f"SELECT num FROM memories WHERE {compile_filters(filters, params)} ORDER BY num"
    return [r[0] for r in db.execute(sql, params)]


@pytest.mark.parametrize("filters,expected", [
    (None, [1, 2, 3, 4]),
    ({}, [1, 2, 3, 4]),
    ({"topic": "food"}, [1, 3]),
    ({"topic": {"eq": "home"}}, [2]),
    ({"topic": {"ne": "food"}}, [2, 4]),
    ({"topic": {"ne": None}}, [1, 2, 3]),
    ({"topic": None}, [4]),
    ({"topic": {"in": ["home", "food"]}}, [1, 2, 3]),
    ({"topic": {"nin": ["home"]}}, [1, 3, 4]),  # like ne: no key is "not in"
    ({"topic": {"nin": ["home", "food"]}, "user_id": "u1"}, []),
    ({"n": {"gt": 1}}, [2, 3]),
    ({"n": {"gte": 1, "lt": 3}}, [1, 2]),
    ({"n": {"lte": 1}}, [1]),
    ({"ok": True}, [1]),
    ({"ok": False}, [2]),
    ({"tags.x": "dot"}, [1]),
    ({"user_id": "u2"}, [3, 4]),
    ({"agent_id": "a1", "topic": "food"}, [1, 3]),
    ({"run_id": "r1"}, [2]),
    ({"AND": [{"topic": "food"}, {"user_id": "u2"}]}, [3]),
    ({"OR": [{"n": 1}, {"n": 3}]}, [1, 3]),
    ({"OR": [{"AND": [{"user_id": "u1"}, {"n": 2}]}, {"user_id": "u2", "n": 3}]}, [2, 3]),
    ({"NOT": {"topic": "food"}}, [2, 4]),  # no key: NOT (NULL) must still be true
    ({"NOT": {"OR": [{"n": 1}, {"user_id": "u2"}]}}, [2]),
    ({"NOT": {"NOT": {"topic": "food"}}}, [1, 3]),
    ({"topic": "food", "OR": [{"n": 3}, {"user_id": "u1"}]}, [1, 3]),
])
def test_filters_select_the_right_rows(db, filters, expected):
    assert select(db, filters) == expected


@pytest.mark.parametrize("key", [
    "a'); DROP TABLE memories; --",
    "x\"",
    "x'",
    "$.a",
    "a b",
    "",
    "k" * 65,
    "名字",
    "a;b",
    "a)",
    "-leading-dash",
    ".leading-dot",
])
def test_injection_looking_keys_are_rejected(db, key):
    with pytest.raises(FilterError, match="not allowed"):
        compile_filters({key: "v"}, [])
    with pytest.raises(FilterError):
        compile_filters({"OR": [{"topic": "food"}, {key: 1}]}, [])
    assert db.execute("SELECT count(*) FROM memories").fetchone() == (4,)


@pytest.mark.parametrize("value", [
    "x' OR '1'='1", "food' --", "'); DROP TABLE memories; --", '"', "%", "\\", "\x00",
])
def test_values_are_bound_parameters(db, value):
    params: list = []
    sql = compile_filters({"topic": value, "user_id": {"in": [value, "u1"]}}, params)
    # The SQL text does not depend on the value at all: it is only ever a parameter.
    assert sql == compile_filters({"topic": "v", "user_id": {"in": ["v", "u1"]}}, [])
    assert params == [value, value, "u1"]
    assert select(db, {"topic": value}) == []
    assert db.execute("SELECT count(*) FROM memories").fetchone() == (4,)


@pytest.mark.parametrize("filters,message", [
    ({"topic": {"like": "%"}}, "unknown operator"),
    ({"topic": {"in": []}}, "non-empty list"),
    ({"topic": {"in": "food"}}, "non-empty list"),
    ({"topic": {"eq": ["a"]}}, "must be a string"),
    ({"topic": {"eq": {"nested": 1}}}, "must be a string"),
    ({"n": 2**64}, "out of range"),
    ({"n": {"in": [1, -(2**63) - 1]}}, "out of range"),
    ({"topic": {"in": [["a"]]}}, "must be a string"),
    ({"AND": {"topic": "food"}}, "non-empty list"),
    ({"OR": []}, "non-empty list"),
    ({"NOT": ["x"]}, "mapping"),
])
def test_malformed_filters_raise_filter_error(filters, message):
    with pytest.raises(FilterError, match=message):
        compile_filters(filters, [])


def test_filter_error_is_a_value_error():
    assert issubclass(FilterError, ValueError)


@settings(max_examples=150, deadline=None, database=None)
@given(key=st.one_of(st.text(max_size=70),
                    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}", fullmatch=True)),
       value=st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=False),
                       st.booleans(), st.none()))
def test_any_key_and_value_is_safe(key, value):
    """Property: either a clear FilterError, or SQL in which the value never appears and that
    SQLite runs; a key reaches the SQL only if it is made of safe characters."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE memories (user_id TEXT, agent_id TEXT, run_id TEXT, "
                 "metadata TEXT NOT NULL DEFAULT '{}')")
    conn.execute("INSERT INTO memories(metadata) VALUES ('{\"a\": 1}')")
    params: list = []
    try:
        sql = compile_filters({key: {"eq": value}}, params)
    except FilterError:
        return
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    if value is not None:
        assert sql == compile_filters({key: {"eq": "v"}}, [])
        assert len(params) == 1
    conn.execute(f"SELECT count(*) FROM memories WHERE {sql}", params).fetchone()
    assert conn.execute("SELECT count(*) FROM memories").fetchone() == (1,)
    conn.close()


# -- rank fusion (keyword queries: test_retrieval_keywords.py) -----------------------------


def test_reciprocal_rank_fusion():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(fused, key=lambda n: -fused[n]) == [1, 3, 2]
    assert reciprocal_rank_fusion([]) == {}
    weighted = reciprocal_rank_fusion([[1, 2], [2]], k=10, weights=[1.0, 2.0])
    assert weighted[2] == pytest.approx(1 / 12 + 2 / 11)
