"""mem0 filters and keyword queries rendered for PostgreSQL, run on a real server.

The filter cases are those of tests/memory/test_filters_keywords.py (SQLite), so both
backends select the same rows for the same filter.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

from daemon.memory.filters import FilterError
from daemon.memory.keywords import keyword_query
from daemon.memory.pg.keywords import keyword_doc, keyword_tsquery
from daemon.memory.pg.sql import Params, filters_sql

ROWS = [
    ("u1", "a1", None, {"topic": "food", "n": 1, "ok": True, "tags.x": "dot"}),
    ("u1", None, "r1", {"topic": "home", "n": 2, "ok": False}),
    ("u2", "a1", None, {"topic": "food", "n": 3}),
    ("u2", None, None, {"topic": None}),
]
CASES = [
    (None, [1, 2, 3, 4]),
    ({}, [1, 2, 3, 4]),
    ({"topic": "food"}, [1, 3]),
    ({"topic": {"eq": "home"}}, [2]),
    ({"topic": {"ne": "food"}}, [2, 4]),
    ({"topic": {"ne": None}}, [1, 2, 3]),
    ({"topic": None}, [4]),  # a JSON null counts as missing, as json_extract gives NULL
    ({"topic": {"in": ["home", "food"]}}, [1, 2, 3]),
    ({"topic": {"nin": ["home"]}}, [1, 3, 4]),
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
    ({"NOT": {"topic": "food"}}, [2, 4]),
    ({"NOT": {"OR": [{"n": 1}, {"user_id": "u2"}]}}, [2]),
    ({"NOT": {"NOT": {"topic": "food"}}}, [1, 3]),
    ({"topic": "food", "OR": [{"n": 3}, {"user_id": "u1"}]}, [1, 3]),
    ({"topic": "x' OR '1'='1"}, []),
    ({"topic": "food\x00"}, [1, 3]),  # NUL cannot be stored in PostgreSQL: dropped
]


@pytest.fixture
async def conn(pg_server):
    c = await asyncpg.connect(pg_server.new_dsn())
    await c.execute("CREATE TABLE memories (num SERIAL PRIMARY KEY, user_id TEXT, agent_id TEXT, "
                    "run_id TEXT, metadata JSONB NOT NULL DEFAULT '{}')")
    for u, a, r, meta in ROWS:
        await c.execute("INSERT INTO memories(user_id, agent_id, run_id, metadata) "
                        "VALUES ($1, $2, $3, $4::jsonb)", u, a, r, json.dumps(meta))
    yield c
    await c.close()


@pytest.mark.parametrize("filters,expected", CASES)
async def test_filters_select_the_same_rows_as_on_sqlite(conn, filters, expected):
    p = Params()
    sql = f"SELECT num FROM memories WHERE {filters_sql(filters, p)} ORDER BY num"
    assert [r[0] for r in await conn.fetch(sql, *p)] == expected


@pytest.mark.parametrize("key", ["a'); DROP TABLE memories; --", "x\"", "$.a", "a b", "名字"])
async def test_bad_keys_are_rejected_and_nothing_runs(conn, key):
    with pytest.raises(FilterError, match="not allowed"):
        filters_sql({key: "v"}, Params())
    assert await conn.fetchval("SELECT count(*) FROM memories") == 4


@pytest.mark.parametrize("bad,message", [
    ({"topic": {"in": []}}, "non-empty list"),
    ({"topic": {"like": "x"}}, "unknown operator"),
    ({"topic": {"eq": [1]}}, "must be a string"),
    ({"OR": {}}, "non-empty list"),
])
def test_malformed_filters_raise_filter_error(bad, message):
    with pytest.raises(FilterError, match=message):
        filters_sql(bad, Params())


async def test_keyword_documents_find_chinese_words_and_english_prefixes(conn):
    await conn.execute("CREATE TABLE docs (num SERIAL PRIMARY KEY, tsv TSVECTOR)")
    texts = ["我女儿叫小红，今年五岁", "Grandma bakes plum cakes on Sundays", "我喜欢喝绿茶",
             "Works as a nurse at the children's hospital"]
    for t in texts:
        await conn.execute("INSERT INTO docs(tsv) VALUES (array_to_tsvector($1::text[]))",
                           keyword_doc(t))

    async def find(query: str) -> list[int]:
        q = keyword_tsquery(*keyword_query(query))
        if not q:
            return []
        return [r[0] for r in await conn.fetch(
            "SELECT num FROM docs WHERE tsv @@ to_tsquery('simple', $1) ORDER BY num", q)]

    assert await find("女儿多大了？") == [1]          # a 2-character word
    assert await find("小红今年几岁") == [1]          # trigrams of a longer run
    assert await find("绿茶") == [3]
    assert await find("what does grandma bake") == [2]  # "bake" matches "bakes" as a prefix
    assert await find("nurse hospital") == [4]
    assert await find("天气怎么样") == []
    assert await find("the and of") == []              # stopwords only: no query at all
    assert keyword_tsquery('"it\'s" OR "a\\b"', []) != ""  # quotes and backslashes are safe
    await find("it's a \\ back'slash")
