"""Unit tests: metadata filters -> parameterised SQL; keyword query building; rank fusion."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.memory.filters import FilterError, compile_filters
from daemon.memory.keywords import MAX_TERMS, keyword_query, reciprocal_rank_fusion

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


# -- keywords ------------------------------------------------------------------------------


def test_two_char_chinese_words_become_like_terms():
    match, like = keyword_query("小美")
    assert match == "" and like == ["小美"]
    match, like = keyword_query("北京 上海")
    assert match == "" and like == ["北京", "上海"]


def test_two_char_function_words_are_dropped():
    assert keyword_query("我的") == ("", [])
    assert keyword_query("是吗") == ("", [])


def test_longer_chinese_runs_become_trigrams():
    match, like = keyword_query("女儿喜欢画画")
    assert like == []
    assert match == '"女儿喜" OR "儿喜欢" OR "喜欢画" OR "欢画画"'


def test_trigrams_of_function_words_are_dropped():
    # "我住在哪里": every trigram has at least two function characters.
    assert keyword_query("我住在哪里") == ("", [])
    match, _ = keyword_query("我住在北京")
    assert '"住在北"' in match and '"在北京"' in match and '"我住在"' not in match


def test_english_stopwords_and_short_words_are_dropped():
    match, like = keyword_query("Where does Tom live with the dog? It's OK")
    assert match == '"tom" OR "live" OR "dog"'
    assert like == []
    assert keyword_query("what is it") == ("", [])


def test_mixed_text_and_deduplication():
    match, like = keyword_query("Tom TOM tom 喜欢绿茶 喜欢绿茶 小美")
    assert match == '"tom" OR "喜欢绿" OR "欢绿茶"'
    assert like == ["小美"]


def test_quotes_cannot_break_the_match_expression():
    match, _ = keyword_query('say "hello" OR NEAR( x) AND ) * ^')
    # Only word characters reach the expression, each one quoted.
    assert match == '"say" OR "hello" OR "near"'
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='trigram')")
    conn.execute("INSERT INTO t VALUES ('I say hello')")
    assert conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match,)).fetchone() == (1,)


def test_terms_are_bounded():
    text = " ".join(f"word{i:03d}" for i in range(100))
    match, _ = keyword_query(text)
    assert match.count(" OR ") == MAX_TERMS - 1
    _, like = keyword_query(" ".join("小" + chr(0x4E00 + 0x100 + i) for i in range(20)))
    assert len(like) == 8


def test_reciprocal_rank_fusion():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(fused, key=lambda n: -fused[n]) == [1, 3, 2]
    assert reciprocal_rank_fusion([]) == {}
