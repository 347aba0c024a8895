"""Shared by the crash test and its child process: one Memory configuration in which a job
applied twice WOULD leave two memories, so "exactly once" is actually observable.

Two things normally hide a second application of the same extraction job:
* the near-duplicate check (cosine >= ``duplicate_threshold``): disabled with 2.0 (cosine
  never reaches it);
* the exact-text check in ``DecidePipeline.decide`` (``near[0].hash == text_hash(fact)``): disabled
  by ``disable_exact_text_shortcut``, which replaces the name ``text_hash`` *inside
  daemon.memory.memory only* (the store keeps hashing for real).
``tests/reliability/test_crash_safety.py::test_double_application_is_detectable`` proves the
combination really duplicates a re-applied job, so the crash test cannot pass vacuously.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import daemon.memory.decide as decide_module
from daemon.llm.scripted import ScriptedLLM
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore
from tests.support.memory_fakes import HashEmbedder, is_extraction, user_lines

USERS = ("alice", "bob", "carol", "用户四")
FACT = re.compile(r"Fact \d+\.\d+")


def _never_equal(text: str) -> str:
    return "<exact-text shortcut disabled by tests.reliability.crashkit>"


def disable_exact_text_shortcut() -> None:
    decide_module.text_hash = _never_equal  # type: ignore[assignment]


def fact_of(text: str) -> str | None:
    m = FACT.search(text)
    return m.group(0) if m else None


def responder(messages: Sequence[dict[str, str]], schema: dict[str, Any] | None) -> str:
    """Extraction: the one "Fact r.i" of the job's message. Decision: always ADD it."""
    if is_extraction(schema):
        facts = [f for line in user_lines(messages) if (f := fact_of(line))]
        return json.dumps({"facts": facts})
    fact = messages[-1]["content"].rsplit("NEW FACT: ", 1)[1]
    return json.dumps({"actions": [{"event": "ADD", "id": "new", "text": fact}]})


def build_memory(data_dir: Path) -> AsyncMemory:
    return AsyncMemory(
        SqliteStore(data_dir / "memory.sqlite3"), HashEmbedder(), ScriptedLLM(responder),
        index_dir=data_dir / "index", duplicate_threshold=2.0,
    )


def job_message(fact: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Please remember this: {fact}"},
            {"role": "assistant", "content": "OK, noted."}]
