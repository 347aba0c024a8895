"""The query-vector cache (issue 15): repeated questions skip the model, same vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daemon.memory.embedder import QueryCache, QueryFirstGate, _GatedEmbedder


class Counting(_GatedEmbedder):
    dim = 4

    def __init__(self) -> None:
        self._gate = QueryFirstGate()
        self.encoded: list[str] = []

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += list(texts)
        return np.asarray([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)

    _encode_documents = _encode_queries


def test_a_repeated_query_is_not_encoded_again():
    emb = Counting()
    first = emb.embed_queries(["where is my dog", "hi"])
    again = emb.embed_queries(["hi", "where is my dog", "new one"])
    assert emb.encoded == ["where is my dog", "hi", "new one"]
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[1], first[0])
    # A caller changing its result does not change the cache.
    again[0][:] = 0
    np.testing.assert_array_equal(emb.embed_queries(["hi"])[0], first[1])
    # Documents never go through the cache.
    emb.embed_documents(["hi"])
    assert emb.encoded[-1] == "hi"


def test_the_cache_is_bounded_and_least_recently_used_goes_first():
    cache = QueryCache(size=2)
    for t in ("a", "b"):
        cache.put(t, np.ones(2))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", np.ones(2))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert (cache.hits, cache.misses) == (3, 1)


def test_real_e5_cached_vectors_equal_fresh_ones(e5):
    fresh = e5.embed_queries(["我家的狗叫什么？", "What's my dog called?"])
    cached = e5.embed_queries(["What's my dog called?", "我家的狗叫什么？"])
    np.testing.assert_allclose(cached, fresh[::-1], rtol=0, atol=0)
    assert e5._query_cache().hits >= 2
