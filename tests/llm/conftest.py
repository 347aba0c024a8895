"""The real packaged GGUF model, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.modelfiles import CATALOG, find_model


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    path = find_model(CATALOG["smollm2-135m-instruct"], Path("models"))
    assert path is not None, "run `xiaozhi-memd models install` (README command 2 does)"
    return path


@pytest.fixture(scope="session")
def real_llm(gguf_path: Path):
    from daemon.llm.llamacpp import LlamaCppLLM

    return LlamaCppLLM(gguf_path, n_ctx=2048, n_threads=1)
