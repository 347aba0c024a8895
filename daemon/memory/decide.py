"""Deciding what a new fact does to a user's memories: the mem0 method per fact.

Each extracted fact is embedded and compared with its nearest memories in its scope: a
duplicate is NONE without asking the model, a fact with no related memory is ADDed without
asking, otherwise the model decides ADD / UPDATE / DELETE / NONE (``updater.UpdateDecider``)
and decisions naming a memory much less related than the nearest one are not trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daemon.memory.replacing import moved, replaces
from daemon.memory.store import Change, MemoryRow, Scope, text_hash
from daemon.memory.updater import Decided, Neighbour, UpdateDecider

log = logging.getLogger(__name__)

# (query vector, scope, k) -> [(num, score)], best first; and the rows of nums in a scope.
VectorHits = Callable[[np.ndarray, Scope, int], Awaitable[list[tuple[int, float]]]]
RowsOf = Callable[[Sequence[int], Scope], Awaitable[dict[int, MemoryRow]]]


@dataclass
class AddStats:
    """Where the time of the last add() went (for benchmarks and logs)."""

    extract_s: float = 0.0
    decide_s: float = 0.0
    apply_s: float = 0.0
    llm_calls: int = 0
    facts: int = 0
    events: dict[str, int] = field(default_factory=dict)


class DecidePipeline:
    def __init__(
        self, decider: UpdateDecider, *, embed_docs: Callable[[Sequence[str]], Awaitable[np.ndarray]],
        vector_hits: VectorHits, rows_of: RowsOf, identity: str, neighbours: int,
        duplicate_threshold: float, related_threshold: float, decision_margin: float,
        decisions: str,
    ) -> None:
        self.decider = decider
        self.embed_docs = embed_docs
        self._vector_hits = vector_hits
        self._rows_of = rows_of
        self.identity = identity
        self.neighbours = neighbours
        self.duplicate_threshold = duplicate_threshold
        self.related_threshold = related_threshold
        # An UPDATE/DELETE may only touch a memory about as related to the new fact as the most
        # related one: small models name the wrong id ("Has a dog named Rex" -> UPDATE "Likes
        # green tea"); such an UPDATE is kept as an ADD and such a DELETE is dropped.
        self.decision_margin = decision_margin
        self.decisions = decisions

    async def neighbours_of(self, vec: np.ndarray, scope: Scope) -> list[tuple[MemoryRow, float]]:
        hits = await self._vector_hits(vec, scope, self.neighbours)
        rows = await self._rows_of([n for n, _ in hits], scope)
        return [(rows[n], s) for n, s in hits if n in rows][:self.neighbours]

    async def decide(
        self, facts: list[str], scope: Scope, metadata: dict[str, Any], stats: AddStats, *,
        said: str = "",
    ) -> tuple[list[Change], list[dict[str, Any]]]:
        """The changes the facts call for, and the NONE results (already known). ``said``: the
        user's words the facts came from."""
        if not facts:
            return [], []
        vecs = await self.embed_docs(facts)
        changes: list[Change] = []
        nones: list[dict[str, Any]] = []
        added: list[np.ndarray] = []
        touched: set[str] = set()
        identity = self.identity

        def add_change(text: str, vec: np.ndarray) -> None:
            added.append(vec)
            changes.append(Change("ADD", text=text, embedding=vec, scope=scope,
                                  metadata=dict(metadata), embedder=identity))

        move_said = moved(said)
        for fact, vec in zip(facts, vecs):
            if any(float(vec @ v) >= self.duplicate_threshold for v in added):
                continue  # said twice in the same exchange
            near = await self.neighbours_of(vec, scope)
            if near and (near[0][1] >= self.duplicate_threshold
                         or near[0][0].hash == text_hash(fact)):
                nones.append({"id": near[0][0].id, "memory": near[0][0].text, "event": "NONE"})
                continue
            # A new value of a one-value attribute (a job, a home after a move) is compared with
            # the old value however unrelated e5 finds their words: "Got the job as a junior
            # architect" scored 0.784 against "Job is barista at the café" (threshold 0.80).
            related = [(row, s) for row, s in near if row.id not in touched
                       and (s >= self.related_threshold or replaces(fact, row.text))]
            if not related or self.decisions == "add_only":
                add_change(fact, vec)
                continue
            decided, calls = await self.decider.decide(
                fact, [Neighbour(row.id, row.text, s, row.created_at) for row, s in related],
                move_said=move_said)
            stats.llm_calls += calls
            decided = self.guard_far_targets(fact, decided, {row.id: sc for row, sc in related})
            if not decided:
                # No usable action (none, or only ids that were not shown): keep the fact
                # rather than lose what the user said.
                log.info("no usable decision for a new fact: adding it")
                add_change(fact, vec)
            for d in decided:
                if d.event == "ADD":
                    v = vec if d.text == fact else (await self.embed_docs([d.text]))[0]
                    add_change(d.text, v)
                elif d.event == "UPDATE" and d.memory_id is not None:
                    touched.add(d.memory_id)
                    v = vec if d.text == fact else (await self.embed_docs([d.text]))[0]
                    changes.append(Change("UPDATE", text=d.text, memory_id=d.memory_id,
                                          embedding=v, embedder=identity))
                elif d.event == "DELETE" and d.memory_id is not None:
                    touched.add(d.memory_id)
                    changes.append(Change("CLOSE", memory_id=d.memory_id))
                elif d.event == "NONE" and d.memory_id is not None:
                    nones.append({"id": d.memory_id, "memory": d.text, "event": "NONE"})
        return changes, nones

    def guard_far_targets(self, fact: str, decided: list[Decided],
                           scores: dict[str, float]) -> list[Decided]:
        best = max(scores.values())
        out: list[Decided] = []
        for d in decided:
            far = (d.event in ("UPDATE", "DELETE") and d.memory_id is not None and not d.by_rule
                   and scores.get(d.memory_id, best) < best - self.decision_margin)
            if not far:
                out.append(d)
            elif d.event == "UPDATE":
                log.info("an UPDATE named a memory much less related than the nearest one "
                         "(%.3f vs %.3f): the fact is added instead", scores[d.memory_id], best)
                out.append(Decided("ADD", None, d.text or fact))
            else:
                log.info("a DELETE named a memory much less related than the nearest one "
                         "(%.3f vs %.3f): ignored", scores[d.memory_id], best)
        return out
