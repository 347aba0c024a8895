"""mem0's filter language on the real store: SQLite + the real e5 embedder, through the async
``Memory`` and the synchronous ``SyncMemory``; every form via get_all and search, results
checked by id. Times are known: each memory is added with its own ``timestamp``."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.memory.filters import FilterError
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore
from daemon.memory.sync import SyncMemory
from tests.support.filter_cases import FORMS, SEED, keys_of, with_ids


async def _seed(add) -> dict[str, str]:
    ids = {}
    for key, scope, text, meta, ts in SEED:
        out = await add(text, metadata=meta, infer=False, timestamp=ts, **scope)
        ids[key] = out["results"][0]["id"]
    return ids


@pytest.fixture
async def seeded(open_memory, e5):
    mem = await open_memory(e5)
    return mem, await _seed(mem.add)


@pytest.mark.parametrize("filters,kwargs,expected", FORMS)
async def test_get_all_and_search_honour_each_form(seeded, filters, kwargs, expected):
    mem, ids = seeded
    filters = with_ids(filters, ids)
    assert keys_of(await mem.get_all(filters=filters, **kwargs), ids) == expected
    # threshold 0: every memory that passes the filters is a candidate, so the set is exact
    found = await mem.search("what do you know about me", filters=filters, threshold=0.0,
                             **kwargs)
    assert keys_of(found, ids) == expected


async def test_search_ranks_within_the_filtered_set(seeded):
    mem, ids = seeded
    found = await mem.search("which drink do I like",
                             filters={"user_id": {"in": ["alice", "bob"]}}, limit=2)
    assert keys_of(found, ids) == ["a1", "b1"]  # the two drinks, across the two users


@pytest.mark.parametrize("filters,error,message", [
    ({"user_id": "alice", "source": {"regex": "t"}}, FilterError, "source: unknown operator 'regex'"),
    ({"user_id": "alice", "created_at": {"gte": "yesterday"}}, FilterError, "not an ISO"),
    ({"source": "test"}, ValueError, "one of user_id, agent_id or run_id is required"),
])
async def test_bad_filters_are_errors_not_empty_results(seeded, filters, error, message):
    mem, _ = seeded
    with pytest.raises(error, match=message):
        await mem.get_all(filters=filters)
    with pytest.raises(error, match=message):
        await mem.search("tea", filters=filters)


def test_sync_memory_takes_the_same_filters(tmp_path: Path, e5):
    sync = SyncMemory(AsyncMemory(SqliteStore(tmp_path / "m.sqlite3"), e5, None,
                             index_dir=tmp_path / "index"))
    try:
        ids = {}
        for key, scope, text, meta, ts in SEED:
            ids[key] = sync.add(text, metadata=meta, infer=False, timestamp=ts,
                                **scope)["results"][0]["id"]
        for filters, kwargs, expected in FORMS[:9]:
            filters = with_ids(filters, ids)
            assert keys_of(sync.get_all(filters=filters, **kwargs), ids) == expected, filters
            assert keys_of(sync.search("me", filters=filters, threshold=0.0, **kwargs),
                         ids) == expected, filters
        with pytest.raises(FilterError, match="unknown operator 'like'"):
            sync.get_all(filters={"user_id": "alice", "keywords": {"like": "%tea%"}})
    finally:
        sync.close()
