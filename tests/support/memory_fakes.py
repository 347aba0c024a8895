"""Fakes and helpers for memory engine tests (imported by tests; the fixtures that use them
are in tests/memory/conftest.py).

* ``HashEmbedder``: a deterministic, fast fake (word + character-trigram hashing, L2-normalised)
  for logic tests; its scores are never negative, so with search_threshold 0.0 every memory in
  scope comes back from a search, which makes scope leaks visible.
* ``Brain`` / ``scripted``: a responder for ScriptedLLM that plays both LLM steps (fact
  extraction and the ADD/UPDATE/DELETE/NONE decision) from plain Python rules.
* ``db_path`` / ``index_dir`` / ``raw_db``: where a test's memory keeps its files.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daemon.llm.scripted import ScriptedLLM

_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Bag of words + character trigrams hashed into ``dim`` buckets, normalised."""

    search_threshold = 0.0
    duplicate_threshold = 0.99
    decision_margin = 2.0  # no guard: logic tests script the decisions they check

    def __init__(self, dim: int = 256, identity: str = "fake:1") -> None:
        self.dim = dim
        self.identity = identity
        self.texts_embedded = 0

    def _features(self, text: str) -> list[str]:
        t = " ".join(text.casefold().split())
        feats = [f"w:{w}" for w in _WORD.findall(t)]
        padded = f"  {t}  "
        feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
        return feats

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for f in self._features(text):
            h = int.from_bytes(hashlib.md5(f.encode()).digest()[:4], "little")
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def warm(self) -> None:
        """Nothing to load."""


# -- scripted LLM --------------------------------------------------------------------------

def is_extraction(schema: dict[str, Any] | None) -> bool:
    return schema is not None and "facts" in schema.get("properties", {})


def is_decision(schema: dict[str, Any] | None) -> bool:
    return schema is not None and "actions" in schema.get("properties", {})


def user_lines(messages: Sequence[dict[str, str]]) -> list[str]:
    """The user's lines of the conversation shown to the extraction step."""
    last = messages[-1]["content"]
    return [line[len("user: "):] for line in last.splitlines() if line.startswith("user: ")]


def is_same_check(schema: dict[str, Any] | None) -> bool:
    return schema is not None and "same" in schema.get("properties", {})


def same_input(messages: Sequence[dict[str, str]]) -> tuple[str, str]:
    """(old memory, new fact) from a same-thing check."""
    m = re.fullmatch(r"OLD: (.*)\nNEW: (.*)", messages[-1]["content"], re.S)
    assert m, messages[-1]["content"]
    return m.group(1), m.group(2)


def decision_input(messages: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """(existing memories as shown, the new fact) from a decision prompt."""
    m = re.fullmatch(r"EXISTING MEMORIES:\n(.*)\nNEW FACT: (.*)", messages[-1]["content"], re.S)
    assert m, messages[-1]["content"]
    return json.loads(m.group(1)), m.group(2)


Extract = Callable[[str], "list[str] | str"]
Decide = Callable[[list[dict[str, str]], str], "list[dict[str, str]] | str"]


class Brain:
    """ScriptedLLM responder: ``facts`` maps a user line to its facts (a list, or a raw str
    reply); default: the line itself is the one fact. ``decide`` maps (shown memories, fact)
    to actions (or a raw str reply); default: ADD."""

    def __init__(self, facts: dict[str, Any] | Extract | None = None,
                 decide: Decide | None = None,
                 same: Callable[[str, str], bool] = lambda _old, _new: True) -> None:
        self.facts = facts
        self.decide = decide
        self.same = same
        self.decisions: list[tuple[list[dict[str, str]], str]] = []

    def _facts_for(self, line: str) -> list[str] | str:
        if callable(self.facts):
            return self.facts(line)
        if isinstance(self.facts, dict):
            return self.facts.get(line, [line])
        return [line]

    def __call__(self, messages: Sequence[dict[str, str]], schema: dict[str, Any] | None) -> str:
        if is_extraction(schema):
            facts: list[str] = []
            for line in user_lines(messages):
                got = self._facts_for(line)
                if isinstance(got, str):
                    return got
                facts += got
            return json.dumps({"facts": facts}, ensure_ascii=False)
        if is_same_check(schema):  # the yes/no check of an UPDATE/DELETE target
            return json.dumps({"same": self.same(*same_input(messages))})
        assert is_decision(schema), schema
        existing, fact = decision_input(messages)
        self.decisions.append((existing, fact))
        out: Any = (self.decide(existing, fact) if self.decide
                    else [{"event": "ADD", "id": "", "text": fact}])
        return out if isinstance(out, str) else json.dumps({"actions": out}, ensure_ascii=False)


def scripted(facts: Any = None, decide: Decide | None = None,
             same: Callable[[str, str], bool] = lambda _old, _new: True) -> ScriptedLLM:
    return ScriptedLLM(Brain(facts, decide, same))


def decision_calls(llm: ScriptedLLM) -> int:
    return sum(1 for _, schema in llm.calls if is_decision(schema))


def extraction_calls(llm: ScriptedLLM) -> int:
    return sum(1 for _, schema in llm.calls if is_extraction(schema))


def db_path(data_dir: Path) -> Path:
    return data_dir / "memory.sqlite3"


def index_dir(data_dir: Path) -> Path:
    return data_dir / "index"


def raw_db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path(data_dir))
