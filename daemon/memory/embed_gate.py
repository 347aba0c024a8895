"""Who uses an embedding model when: ``QueryFirstGate`` (queries before background documents,
devices before REST clients) and ``QueryCache`` (recent query vectors: no model at all)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class QueryFirstGate:
    """One model, three kinds of caller: a device's query (``urgent``: someone is waiting for
    an answer) goes first, then other queries (REST searches), then documents.

    Background work embeds documents one small piece at a time and steps aside whenever a query
    waits, so a search waits for at most one piece instead of a whole batch of new facts (a
    plain lock is FIFO: a 10-fact add would hold every device's search for ~0.3 s); a REST
    client's searches step aside for devices the same way. A query runs alone; documents may
    run ``document_slots`` at a time (one model instance each: a bulk import uses both cores
    while no query waits), and a waiting query stops new pieces from starting.

    ``query_waits_for_documents=False`` (a model whose calls are re-entrant): a query starts at
    once beside the pieces already running instead of waiting for them to finish.
    """

    def __init__(self, document_slots: int = 1, query_waits_for_documents: bool = True) -> None:
        self._cond = threading.Condition()
        self.query_waits_for_documents = query_waits_for_documents
        self._query_busy = False
        self._docs_busy = 0
        self.document_slots = document_slots
        self._queries_waiting = 0
        self._urgent_waiting = 0

    @property
    def busy(self) -> bool:
        """Something is being embedded right now."""
        return self._query_busy or self._docs_busy > 0

    @contextmanager
    def query(self, urgent: bool = False) -> Iterator[None]:
        with self._cond:
            self._queries_waiting += 1
            self._urgent_waiting += urgent
            try:
                while (self._query_busy
                       or (self._docs_busy and self.query_waits_for_documents)
                       or (not urgent and self._urgent_waiting)):
                    self._cond.wait()
            finally:
                self._queries_waiting -= 1
                self._urgent_waiting -= urgent
            self._query_busy = True
        try:
            yield
        finally:
            with self._cond:
                self._query_busy = False
                self._cond.notify_all()

    @contextmanager
    def document(self) -> Iterator[None]:
        with self._cond:
            while (self._query_busy or self._queries_waiting
                   or self._docs_busy >= self.document_slots):
                self._cond.wait()
            self._docs_busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._docs_busy -= 1
                self._cond.notify_all()


class QueryCache:
    """The vectors of the last ``size`` distinct query texts (LRU, thread-safe).

    A device often repeats a question ("what's on my calendar"), REST clients page through the
    same search, and a turn embeds the same utterance for facts and episodes: those cost a
    dictionary look-up instead of ~20 ms of model. 384 floats x 512 entries = 0.8 MB."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vec = self._items.get(text)
            if vec is None:
                self.misses += 1
                return None
            self._items.move_to_end(text)
            self.hits += 1
            return vec

    def put(self, text: str, vec: np.ndarray) -> None:
        vec = np.array(vec, dtype=np.float32)  # a private copy: callers may change theirs
        vec.setflags(write=False)
        with self._lock:
            self._items[text] = vec
            self._items.move_to_end(text)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
