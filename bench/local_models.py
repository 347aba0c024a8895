"""The local models the prompt and lookup benches share: the default chat model as a turn
runs it, one temperature-0 answer, and a memory on the default embedder in a temp dir."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from daemon.config import Config, EmbedderConfig
from daemon.llm.base import ChatMessage
from daemon.memory.factory import make_embedder
from daemon.memory.memory import AsyncMemory
from daemon.memory.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


def chat_llm(model: str = "") -> Any:
    """The chat model (``model`` or the config's ``llm.model``): one thread to answer, two
    to read the prompt, as shipped."""
    from daemon.llm.llamacpp import LlamaCppLLM
    from daemon.modelfiles import resolve_gguf

    gguf = resolve_gguf(model or Config().llm.model, ROOT / "models")
    return LlamaCppLLM(gguf, n_ctx=2048, n_threads=1, n_threads_batch=2)


async def answer(llm: Any, messages: list[ChatMessage], max_tokens: int,
                 timeout_s: float = 180) -> str:
    """The model's whole answer at temperature 0."""
    parts = [p async for p in llm.stream_chat(messages, max_tokens=max_tokens,
                                              temperature=0.0, timeout_s=timeout_s)]
    return "".join(parts).strip()


async def e5_memory(prefix: str) -> AsyncMemory:
    """A started memory on the default embedder and SQLite, in a new temp dir (no model)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    memory = AsyncMemory(SqliteStore(work / "m.sqlite3"),
                         make_embedder(EmbedderConfig(), ROOT / "models"), None,
                         index_dir=work / "index")
    await memory.start(save_interval_s=0)
    return memory
