"""mem0's filter language on the real store: SQLite + the real e5 embedder, through the async
``Memory`` and the synchronous ``SyncMemory``; every form via get_all and search, results
checked by id. Times are known: each memory is added with its own ``timestamp``."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.memory.filters import FilterError
from daemon.memory.memory import Memory
from daemon.memory.store import MemoryStore
from daemon.memory.sync import SyncMemory

SEED = [  # key, scope, text, metadata, timestamp
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

FORMS = [  # (filters, extra kwargs, expected keys)
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
]


async def _seed(add) -> dict[str, str]:
    ids = {}
    for key, scope, text, meta, ts in SEED:
        out = await add(text, metadata=meta, infer=False, timestamp=ts, **scope)
        ids[key] = out["results"][0]["id"]
    return ids


def _ids(filters: dict, ids: dict[str, str]) -> dict:
    """``memory_ids`` are written with seed keys in FORMS; the real ids are uuids."""
    if "memory_ids" in filters:
        return {**filters, "memory_ids": [ids[k] for k in filters["memory_ids"]]}
    return filters


def _keys(result: dict, ids: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return sorted(by_id[r["id"]] for r in result["results"])


@pytest.fixture
async def seeded(open_memory, e5):
    mem = await open_memory(e5)
    return mem, await _seed(mem.add)


@pytest.mark.parametrize("filters,kwargs,expected", FORMS)
async def test_get_all_and_search_honour_each_form(seeded, filters, kwargs, expected):
    mem, ids = seeded
    filters = _ids(filters, ids)
    assert _keys(await mem.get_all(filters=filters, **kwargs), ids) == expected
    # threshold 0: every memory that passes the filters is a candidate, so the set is exact
    found = await mem.search("what do you know about me", filters=filters, threshold=0.0,
                             **kwargs)
    assert _keys(found, ids) == expected


async def test_search_ranks_within_the_filtered_set(seeded):
    mem, ids = seeded
    found = await mem.search("which drink do I like",
                             filters={"user_id": {"in": ["alice", "bob"]}}, limit=2)
    assert _keys(found, ids) == ["a1", "b1"]  # the two drinks, across the two users


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
    sync = SyncMemory(Memory(MemoryStore(tmp_path / "m.sqlite3"), e5, None,
                             index_dir=tmp_path / "index"))
    try:
        ids = {}
        for key, scope, text, meta, ts in SEED:
            ids[key] = sync.add(text, metadata=meta, infer=False, timestamp=ts,
                                **scope)["results"][0]["id"]
        for filters, kwargs, expected in FORMS[:9]:
            filters = _ids(filters, ids)
            assert _keys(sync.get_all(filters=filters, **kwargs), ids) == expected, filters
            assert _keys(sync.search("me", filters=filters, threshold=0.0, **kwargs),
                         ids) == expected, filters
        with pytest.raises(FilterError, match="unknown operator 'like'"):
            sync.get_all(filters={"user_id": "alice", "keywords": {"like": "%tea%"}})
    finally:
        sync.close()
