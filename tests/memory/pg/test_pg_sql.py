"""Keyword documents and queries, and filter values, on a real PostgreSQL.

(The filter language itself: tests/memory/test_filters_postgres.py and, through PgStore,
tests/memory/test_filters_real.py on both backends.)"""

from __future__ import annotations

import asyncpg
import pytest

from daemon.memory.filters import FilterError
from daemon.memory.keywords import keyword_query
from daemon.memory.pg.keywords import keyword_doc, keyword_tsquery, tsquery_sql, tsv_sql
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


async def test_keyword_documents_find_chinese_words_and_english_stems(conn):
    await conn.execute("CREATE TABLE docs (num SERIAL PRIMARY KEY, tsv TSVECTOR)")
    texts = ["我女儿叫小红，今年五岁", "Grandma bakes plum cakes on Sundays", "我喜欢喝绿茶",
             "Works as a nurse at the children's hospital", "同事山﨑住在神户"]
    for t in texts:
        await conn.execute(f"INSERT INTO docs(tsv) VALUES ({tsv_sql('$1', '$2')})",
                           *keyword_doc(t))

    async def find(query: str) -> list[int]:
        latin, cjk = keyword_tsquery(keyword_query(query))
        if not (latin or cjk):
            return []
        params: list[str] = []
        q = tsquery_sql(latin, cjk, params)
        return [r[0] for r in await conn.fetch(
            f"SELECT num FROM docs WHERE tsv @@ {q} ORDER BY num", *params)]

    assert await find("女儿多大了？") == [1]          # a 2-character word
    assert await find("小红今年几岁") == [1]          # bigrams of a longer run
    assert await find("绿茶") == [3]
    assert await find("what does grandma bake") == [2]  # "bake" and "bakes": one stem
    assert await find("nurse hospitals") == [4]
    assert await find("我女儿喜欢什么") == [1, 3]      # 女儿 in one, 喜欢 in the other
    # A compatibility ideograph (﨑, as in the surname 山﨑) is CJK too: in the document.
    assert {"山﨑", "﨑"} <= set(keyword_doc(texts[4])[1])
    assert await find("山﨑住在哪里") == [5]
    assert await find("天气怎么样") == []
    assert await find("the and of") == []              # stopwords only: no query at all
    assert keyword_tsquery('"it\'s" OR "a\\b"') == ("it | s | a | b", "")
