"""Keyword search by words (issue 15): real SQLite FTS5, jieba, the migration from trigrams."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from daemon.memory.keywords import (
    MAX_TERMS,
    index_words,
    keyword_query,
    query_terms,
    script_share,
)
from daemon.memory.store import Scope
from daemon.memory.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from tests.support.memory_fakes import db_path

# Memories whose letters contain the query's words without containing the words: what a
# trigram index matched ("dog" in "dogma", "vet" in "velvet"), repeated so they dominate.
TRIGRAM_NOISE = [
    "Dogmatic doggedness: the underdog's dogma about hotdogs",
    "Velvet vetoes and the veteran's velvety corvette",
    "Dogwood dogsled dogfight doghouse dogleg",
    "Catalogue of the categorical catapult",
]


def test_english_words_are_stemmed_stopwords_dropped():
    assert query_terms("Where does Tom live with the dog? It's OK") == ["tom", "live", "dog", "ok"]
    assert query_terms("what is it") == []
    assert keyword_query("Tom TOM tom") == '"tom"'
    assert query_terms("a flight at gate 7") == ["flight", "gate", "7"]


def test_chinese_is_segmented_into_words_and_their_characters():
    words = index_words("上周末我们领养了一只小狗，起名叫豆豆").split()
    assert "小狗" in words and "狗" in words and "豆豆" in words and "领养" in words
    # Question and function words carry nothing; content words stay.
    terms = query_terms("我家的狗叫什么？")
    assert "狗" in terms and "什么" not in terms and "的" not in terms


def test_mixed_text_keeps_both_scripts():
    assert {"Python", "Lisa", "老师"} <= set(index_words("我的Python老师叫Lisa").split())
    assert script_share("hello") == 0.0 and script_share("你好") == 1.0
    assert 0.2 < script_share("我的 Python 老师") < 0.6


def test_quotes_and_operators_cannot_break_the_match_expression():
    match = keyword_query('say "hello" OR NEAR( x) AND ) * ^')
    assert match == '"say" OR "hello" OR "near"'
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(w, tokenize='porter unicode61')")
    conn.execute("INSERT INTO t VALUES ('I said hello')")
    assert conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match,)).fetchone() == (1,)


def test_terms_are_bounded():
    text = " ".join(f"word{i:03d}" for i in range(100))
    assert keyword_query(text).count(" OR ") == MAX_TERMS - 1


async def _kw(memory, text: str, user: str = "u1", n: int = 10) -> list[str]:
    nums = await memory.searcher.keyword_hits(text, Scope(user_id=user), n)
    rows = await memory.store.get_by_nums(nums)
    return [rows[n].text for n in nums]


async def test_english_word_match_beats_trigram_noise(open_memory, e5):
    memory = await open_memory(e5)
    target = "The vet said our dog Biscuit needs his shots in March"
    await memory.add([{"role": "user", "content": t} for t in TRIGRAM_NOISE * 3 + [target]],
                     user_id="u1", infer=False)
    query = "When does my dog need shots from the vet?"
    assert (await _kw(memory, query))[0] == target
    assert all(t not in TRIGRAM_NOISE for t in await _kw(memory, query))  # no letter soup
    found = (await memory.search(query, user_id="u1", limit=3))["results"]
    assert found[0]["memory"] == target
    # Stemming: "vaccinations"/"vaccinated", "adopting"/"adopted".
    await memory.add("We adopted a puppy and he got vaccinated", user_id="u1", infer=False)
    assert (await _kw(memory, "adopting puppies"))[0] == "We adopted a puppy and he got vaccinated"


async def test_chinese_queries_match_segmented_chinese(open_memory, e5):
    memory = await open_memory(e5)
    texts = ["上周末我们领养了一只小狗，起名叫豆豆", "马上就要下雨了，带伞", "今天上午冲过了半程马拉松的终点",
             "邻居家的猫很吵", "我对花生过敏"]
    await memory.add([{"role": "user", "content": t} for t in texts], user_id="u1", infer=False)
    assert (await _kw(memory, "我家的狗叫什么？"))[0] == texts[0]
    assert (await _kw(memory, "我什么时候跑的马拉松"))[0] == texts[2]
    assert (await _kw(memory, "我对什么过敏"))[0] == texts[4]
    found = (await memory.search("我家的狗叫什么名字", user_id="u1", limit=3))["results"]
    assert found[0]["memory"] == texts[0]


async def test_mixed_chinese_and_english(open_memory, e5):
    memory = await open_memory(e5)
    texts = ["我的Python老师叫Lisa", "周末去公园散步", "I love green tea", "我每天学日语"]
    await memory.add([{"role": "user", "content": t} for t in texts], user_id="u1", infer=False)
    assert (await _kw(memory, "Python 老师是谁"))[0] == texts[0]
    assert (await _kw(memory, "我喜欢什么 tea"))[0] == texts[2]
    found = (await memory.search("谁教我 Python", user_id="u1", limit=2))["results"]
    assert found[0]["memory"] == texts[0]


async def test_compatibility_ideographs_kana_and_hangul_are_indexed(open_memory, fake):
    # 﨑 (U+FA11, a CJK Compatibility Ideograph, as in the surname 山﨑) fell outside the
    # index's character class before daemon.text: it was in neither the index nor the query.
    memory = await open_memory(fake)
    texts = ["同事山﨑住在大阪", "同事山田住在东京", "ともだちはかなです", "김치를 좋아해요"]
    await memory.add([{"role": "user", "content": t} for t in texts], user_id="u1", infer=False)
    assert "﨑" in index_words(texts[0]).split()
    assert (await _kw(memory, "山﨑住在哪里"))[0] == texts[0]
    assert await _kw(memory, "かな") == [texts[2]]
    assert await _kw(memory, "김치") == [texts[3]]


async def test_index_follows_updates_deletes_scopes_and_closing(open_memory, fake):
    memory = await open_memory(fake)
    out = await memory.add("My sister lives in Lisbon", user_id="u1", infer=False)
    await memory.add("My sister lives in Lisbon too", user_id="u2", infer=False)
    mid = out["results"][0]["id"]
    assert await _kw(memory, "Lisbon") == ["My sister lives in Lisbon"]
    await memory.update(mid, "My sister moved to Porto")
    assert await _kw(memory, "Lisbon") == []
    assert await _kw(memory, "Porto") == ["My sister moved to Porto"]
    await memory.delete(mid)
    assert await _kw(memory, "Porto") == []
    assert await _kw(memory, "Lisbon", user="u2") == ["My sister lives in Lisbon too"]


def _version3_db(path: Path) -> None:
    """A database as an older release left it (trigram FTS, migrations 1-3), with rows."""
    conn = sqlite3.connect(path)
    for version in range(1, 4):
        conn.executescript(f"BEGIN;\n{MIGRATIONS[version - 1]}\n"
                           f"PRAGMA user_version = {version};\nCOMMIT;")
    for num, text in enumerate(["The vet said our dog needs shots", "我对花生过敏",
                                "Dogmatic underdog dogma"], 1):
        conn.execute("INSERT INTO memories(id, user_id, text, hash, created_at, updated_at, "
                     "valid_from) VALUES (?, 'u1', ?, 'h', 't', 't', 't')", (f"m{num}", text))
    conn.commit()
    conn.close()


async def test_migration_5_builds_the_word_index_from_existing_rows(tmp_path, open_memory, fake):
    data = tmp_path / "old"
    data.mkdir()
    _version3_db(db_path(data))
    memory = await open_memory(fake, folder=data)
    with sqlite3.connect(db_path(data)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "memories_fts" not in tables and "memories_words" in tables
    assert await _kw(memory, "my dog") == ["The vet said our dog needs shots"]
    assert await _kw(memory, "花生") == ["我对花生过敏"]
    # New writes after the migration are indexed by the triggers.
    await memory.add("Our dog loves the beach", user_id="u1", infer=False)
    assert set(await _kw(memory, "dog")) == {"The vet said our dog needs shots",
                                             "Our dog loves the beach"}


async def test_a_raw_sqlite_write_is_indexed_by_the_next_store_write_or_start(
        tmp_path, open_memory, fake):
    data = tmp_path / "raw"
    memory = await open_memory(fake, folder=data)
    await memory.add("first memory", user_id="u1", infer=False)
    with sqlite3.connect(db_path(data)) as conn:  # another SQLite client: no Python function
        conn.execute("INSERT INTO memories(id, user_id, text, hash, created_at, updated_at, "
                     "valid_from) VALUES ('raw', 'u1', 'Written by hand: the wifi password', "
                     "'h', 't', 't', 't')")
    assert await _kw(memory, "wifi password") == []  # queued, not yet indexed
    await memory.add("second memory", user_id="u1", infer=False)
    assert await _kw(memory, "wifi password") == ["Written by hand: the wifi password"]
    with sqlite3.connect(db_path(data)) as conn:
        conn.execute("UPDATE memories SET text = 'the garage code' WHERE id = 'raw'")
        migrate(conn)  # what a start does
    assert await _kw(memory, "wifi password") == []
    assert await _kw(memory, "garage code") == ["the garage code"]
