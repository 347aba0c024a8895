"""Neighbouring-turn context for raw turns, and near-duplicate demotion in search results.

A dialogue turn stored as is (``add(infer=False)`` of ``{role, content}`` messages) is often
only understandable with the turn before it ("Yes, we named him Biscuit" answers "Did you get
the puppy?"). Such a turn is embedded twice, alone and after its previous turn of the same
session, and stored as the mean of the two vectors (unnormalised): its dot product with a
query is the mean of the two cosines, so a turn whose conversation was about the question
ranks higher. The stored and shown text stays the turn's own words; only the vector carries
the context. The vector space is the embedder's own, so a memory embedded without context
(before this, or re-embedded after a model change) is still valid, only without its context.
A plain-string add is a note, embedded alone (``dialogue_flags``).

On the dev split (bench/retrieval_context.py, 810 questions) the context vectors took hit@10
from 66.5% to 70.1%, and demoting near-duplicates (``demote_near_duplicates``) to 74.6%.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from daemon.memory.inputs import MAX_EPISODE_CHARS
from daemon.memory.store import Scope
from daemon.memory.upkeep import IndexKeeper

# Turns further apart than this are not each other's context (a new session).
SESSION_GAP_S = 30 * 60
# Weight of the in-context vector in a turn's stored vector (dev: 0.4-0.6 are within 0.8 pt).
CONTEXT_MIX = 0.5
# A hit at least this similar (cosine) to a better-ranked one is moved after the others: the
# same thing said twice ("Play something relaxing.") should not fill the top 10 (dev: 0.93-0.97
# all help; 0.99 barely, as e5 puts unrelated text at ~0.77 and paraphrases at ~0.9+).
NEAR_DUPLICATE = 0.95
# The previous turn is cut to this many characters: context, not the turn itself.
MAX_CONTEXT_CHARS = 300


def context_text(previous: str | None, text: str) -> str:
    """What is embedded for a turn in context (its previous turn, then the turn)."""
    if not previous:
        return text
    return f"{previous[-MAX_CONTEXT_CHARS:]}\n{text}"


def mix(own: np.ndarray, in_context: np.ndarray, weight: float = CONTEXT_MIX) -> np.ndarray:
    """The stored vector(s): unnormalised on purpose (see the module docstring)."""
    return ((1.0 - weight) * own + weight * in_context).astype(np.float32)


def seconds(at: str | None) -> float:
    """A store timestamp (ISO, or None for now) as unix seconds."""
    if at is None:
        return time.time()
    when = datetime.fromisoformat(at)
    return when.timestamp()


class LastTurns:
    """The last raw turn stored per scope in this process (text and time), so a turn added
    on its own (one ``add`` per message, as a device or importer loop does) still gets its
    predecessor as context. After a restart the first turn has none: a small loss, no store
    query on the write path."""

    def __init__(self, max_scopes: int = 10_000) -> None:
        self._last: dict[tuple[str | None, ...], tuple[str, float]] = {}
        self.max_scopes = max_scopes

    def previous(self, scope: tuple[str | None, ...], at: float) -> str | None:
        last = self._last.get(scope)
        if last is None or abs(at - last[1]) > SESSION_GAP_S:
            return None
        return last[0]

    def remember(self, scope: tuple[str | None, ...], text: str, at: float) -> None:
        if scope not in self._last and len(self._last) >= self.max_scopes:
            self._last.pop(next(iter(self._last)))  # the oldest scope seen
        self._last.pop(scope, None)
        self._last[scope] = (text, at)

    def drop(self, scope: tuple[str | None, ...]) -> None:
        self._last.pop(scope, None)

    def forget(self, user_id: str | None) -> None:
        for key in [k for k in self._last if user_id is None or k[0] == user_id]:
            del self._last[key]


def episode_contexts(conversation: Sequence[Mapping[str, str]], texts: Sequence[str],
                     max_chars: int) -> list[str]:
    """What to embed for each episode (``inputs.episode_texts``, cut to ``max_chars``): the
    user's words after the message before them in the same call, e.g. the assistant's previous
    line that a device's turn sends along ("Did you get the puppy?" / "Yes, named him Biscuit")."""
    before: dict[str, str | None] = {}
    prev: str | None = None
    for m in conversation:
        norm = " ".join(m["content"].split())
        if m["role"] == "user" and norm[:max_chars] not in before:
            before[norm[:max_chars]] = prev
        if m["role"] != "system" and norm:
            prev = norm
    return [context_text(before.get(t), t) for t in texts]


def dialogue_flags(messages: object, count: int) -> list[bool]:
    """Per message of an ``add`` (the ``count`` that ``inputs.normalise_messages`` listed):
    whether it was given as a ``{role, content}`` message, i.e. a turn of a dialogue. A plain
    string is a note ("Likes green tea"), embedded alone: notes added one after another are
    unrelated. Anything else (e.g. an iterator already consumed) counts as dialogue."""
    if isinstance(messages, str):
        flags = [False]
    elif isinstance(messages, dict):
        flags = [True]
    elif isinstance(messages, (list, tuple)):
        flags = [isinstance(m, dict) for m in messages]
    else:
        flags = []
    return flags if len(flags) == count else [True] * count


def with_previous(texts: Sequence[str], first_previous: str | None,
                  dialogue: Sequence[bool] | None = None) -> list[str]:
    """Each text in context: the first after ``first_previous``, the others after the text
    before them in the same call; only between dialogue turns (``dialogue_flags``)."""
    flags = list(dialogue) if dialogue is not None else [True] * len(texts)
    out = []
    prev = first_previous
    for t, turn in zip(texts, flags):
        out.append(context_text(prev if turn else None, t))
        prev = t if turn else None
    return out


def demote_near_duplicates(order: Sequence[int], vectors: Mapping[int, np.ndarray | None],
                           limit: int, cos: float = NEAR_DUPLICATE) -> list[int]:
    """``order`` with every hit at least ``cos`` similar to a better-kept one moved after the
    others, until ``limit`` distinct hits are kept (only the top ``limit`` are looked at)."""
    kept: list[int] = []
    unit: list[np.ndarray] = []
    later: list[int] = []
    for n in order:
        v = vectors.get(n)
        if len(kept) >= limit or v is None:
            kept.append(n)
            continue
        u = v / (float(np.linalg.norm(v)) or 1.0)
        if unit and float(np.max(np.stack(unit) @ u)) >= cos:
            later.append(n)
            continue
        kept.append(n)
        unit.append(u)
    return kept + later


class ContextEmbedder:
    """Embeds raw turns and episodes with their context, on the keeper's document pool."""

    def __init__(self, keeper: IndexKeeper, enabled: bool = True) -> None:
        self.keeper = keeper
        self.last_turns = LastTurns()
        # False: every text embedded alone (the previous behaviour; ingestion about 2x faster).
        self.enabled = enabled

    async def turns(self, turns: Sequence[tuple[str, bool]], scope: Scope,
                    at: str | None) -> np.ndarray:
        """Vectors of an ``add(infer=False)``'s texts, each with ``dialogue_flags``' flag: a
        dialogue turn after the previous one of its session, a note alone."""
        key = (scope.user_id, scope.agent_id, scope.run_id)
        when = seconds(at)
        texts = [t for t, _ in turns]
        contexts = with_previous(texts, self.last_turns.previous(key, when),
                                 [d for _, d in turns])
        if turns[-1][1]:
            self.last_turns.remember(key, texts[-1], when)
        else:  # a note in between ends the dialogue
            self.last_turns.drop(key)
        return await self.in_context(texts, contexts)

    async def episodes(self, conversation: Sequence[Mapping[str, str]],
                       texts: Sequence[str]) -> np.ndarray:
        return await self.in_context(
            texts, episode_contexts(conversation, texts, MAX_EPISODE_CHARS))

    async def in_context(self, texts: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
        """The mean of each text's vector alone and in its context (one embedding when the
        context is the text itself)."""
        framed = [i for i, (t, c) in enumerate(zip(texts, contexts)) if c != t and self.enabled]
        vecs = await self.keeper.embed_docs(list(texts) + [contexts[i] for i in framed])
        own = vecs[:len(texts)]
        in_context = own.copy()
        in_context[framed] = vecs[len(texts):]
        return mix(own, in_context)
