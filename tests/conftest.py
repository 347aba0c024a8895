"""Session fixtures: a running server (``make_server``), the real GGUF models. The helpers
themselves live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, server_config


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator:
    servers: list[ServerProcess] = []

    def make(**sections: dict) -> ServerProcess:
        server = ServerProcess(server_config(tmp_path, **sections),
                               tmp_path / f"server{len(servers)}.log")
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.proc is not None:
            server.stop()


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The real packaged GGUF chat model (SmolLM2-135M-Instruct)."""
    from daemon.modelfiles import CATALOG, find_model

    path = find_model(CATALOG["smollm2-135m-instruct"], Path(__file__).resolve().parents[1] / "models")
    assert path is not None, "run `xiaozhi-memd models install` (README command 2 does)"
    return path


@pytest.fixture(scope="session")
def real_llm(gguf_path: Path):
    """The real GGUF model through llama-cpp-python, loaded once per test session."""
    from daemon.llm.llamacpp import LlamaCppLLM

    return LlamaCppLLM(gguf_path, n_ctx=2048, n_threads=1)


@pytest.fixture(scope="session")
def qwen_llm():
    """The embedded default model (Qwen2.5-Coder-1.5B-Instruct), loaded once per session."""
    from daemon.config import Config
    from daemon.llm.llamacpp import LlamaCppLLM
    from daemon.modelfiles import resolve_gguf

    path = resolve_gguf(Config().llm.model, Path(__file__).resolve().parents[1] / "models")
    return LlamaCppLLM(path, n_ctx=4096, n_threads=1)


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL + pgvector for the session (skips, saying why, if it cannot start)."""
    from tests.support import postgres

    server = postgres.start()
    if isinstance(server, str):
        print(f"\nPostgreSQL tests skipped: {server}")
        pytest.skip(server)
    yield server
    server.stop()
