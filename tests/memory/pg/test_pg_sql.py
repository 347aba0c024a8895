"""Keyword documents and queries, and filter values, on a real PostgreSQL.

(The filter language itself: tests/memory/test_filters_postgres.py and, through PgStore,
tests/memory/test_filters_real.py on both backends.)"""

from __future__ import annotations

import asyncpg
import pytest

from daemon.memory.filters import FilterError
from daemon.memory.keywords import keyword_query
from daemon.memory.pg.keywords import keyword_doc, keyword_tsquery
from daemon.memory.pg.sql import Params, filters_sql


@pytest.fixture
async def conn(pg_server):
    c = await asyncpg.connect(pg_server.new_dsn())
    yield c
    await c.close()


def test_a_nul_in_a_filter_value_is_a_filter_error():
    for bad in ({"topic": "fo\x00od"}, {"topic": {"in": ["a", "\x00"]}}, {"user_id": "u\x00"}):
        with pytest.raises(FilterError, match="NUL"):
            filters_sql(bad, Params())
    assert filters_sql({"topic": "food"}, Params()) != "TRUE"


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
