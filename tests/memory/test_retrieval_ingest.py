"""Ingestion at batch speed (issue 15): documents on two model instances under the query-first
gate, imports in one transaction per batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from daemon.memory.embedder import QueryFirstGate, _GatedEmbedder
from tests.support.memory_fakes import raw_db


class TwoModels(_GatedEmbedder):
    """A fake with two 'instances' that records how many run at once."""

    dim = 3
    DOCUMENT_BATCH = 1

    def __init__(self) -> None:
        self._gate = QueryFirstGate(document_slots=2)
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
        return np.asarray([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    _encode_queries = _encode
    _encode_documents = _encode

    def _document_encoders(self, wanted: int):  # type: ignore[no-untyped-def]
        return [self._encode, self._encode][: min(2, wanted)]


def test_documents_run_on_two_instances_in_order():
    emb = TwoModels()
    texts = [f"text{'x' * i}" for i in range(12)]
    vecs = emb.embed_documents(texts)
    assert emb.most == 2
    expected = np.asarray([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vecs, expected, rtol=1e-6)


def test_a_waiting_query_stops_new_document_pieces():
    gate = QueryFirstGate(document_slots=2)
    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def doc(name: str, hold: bool) -> None:
        with gate.document():
            order.append(name)
            if hold:
                first_in.set()
                release.wait(5)

    def query() -> None:
        with gate.query(urgent=True):
            order.append("query")

    holder = threading.Thread(target=doc, args=("doc1", True))
    holder.start()
    first_in.wait(5)
    q = threading.Thread(target=query)
    q.start()
    while not gate._queries_waiting:
        time.sleep(0.001)
    late = threading.Thread(target=doc, args=("doc2", False))
    late.start()
    time.sleep(0.05)
    assert order == ["doc1"]  # neither the query (doc1 runs) nor doc2 (a query waits) started
    release.set()
    for t in (holder, q, late):
        t.join(5)
    assert order == ["doc1", "query", "doc2"]


def test_real_e5_two_document_threads_give_the_same_vectors(e5):
    texts = ["我对花生过敏", "We adopted a puppy named Biscuit", "Dinner at the tapas bar"] * 3
    assert len(e5._document_encoders(len(texts))) == 2  # 9 pieces shared by two threads
    together = e5.embed_documents(texts)
    one_by_one = np.concatenate([e5.embed_documents([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


async def test_import_commits_once_per_batch(open_memory, fake, data_dir):
    source = await open_memory(fake)
    await source.add([{"role": "user", "content": f"memory number {i}"} for i in range(70)],
                     user_id="u1", infer=False)
    items = await source.export_items(user_id="u1")
    target_dir = data_dir.parent / "target"
    target = await open_memory(fake, folder=target_dir)
    commits = 0
    tx = target.store.tx

    def counting_tx():  # type: ignore[no-untyped-def]
        nonlocal commits
        commits += 1
        return tx()

    target.store.tx = counting_tx  # type: ignore[method-assign]
    assert await target.import_items(items) == (70, 0)
    assert commits == 2  # batches of 64: 64 + 6
    assert await target.import_items(items) == (0, 70)
    found = (await target.search("memory number 7", user_id="u1", limit=3))["results"]
    assert found[0]["memory"] == "memory number 7"
    with raw_db(target_dir) as conn:  # the words were indexed in the same commits
        assert conn.execute("SELECT count(*) FROM memories_words").fetchone() == (70,)
        assert conn.execute("SELECT count(*) FROM words_pending").fetchone() == (0,)
