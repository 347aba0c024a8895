"""The OpenAI-compatible HTTP backend against a real `llama_cpp.server` process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.llm.base import LLMError
from daemon.llm.openai_http import OpenAIChatLLM
from daemon.memory.prompts import FACTS_SCHEMA
from tests.support.server import free_port

pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server] (test extra)")


@pytest.fixture(scope="module")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/models", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "llama_cpp.server exited"
                time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


async def test_streaming_chat(llama_server: str) -> None:
    llm = OpenAIChatLLM(llama_server, model="smollm2")
    try:
        pieces = [p async for p in llm.stream_chat(
            [{"role": "user", "content": "Say hello."}], max_tokens=16, temperature=0.0,
            timeout_s=60)]
    finally:
        await llm.close()
    assert len(pieces) >= 2 and "".join(pieces).strip()


async def test_json_schema_output(llama_server: str) -> None:
    llm = OpenAIChatLLM(llama_server, model="smollm2")
    try:
        raw = await llm.complete_json(
            [{"role": "user", "content": "Facts: I live in Berlin."}], FACTS_SCHEMA,
            max_tokens=96, timeout_s=60)
    finally:
        await llm.close()
    assert isinstance(json.loads(raw)["facts"], list)
    # llama-cpp-python's server refuses OpenAI's json_schema and takes json_object + schema.
    assert llm.json_mode == "json_object_schema"


async def test_unreachable_endpoint_is_a_clear_error() -> None:
    llm = OpenAIChatLLM(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(LLMError, match="cannot reach"):
        async for _ in llm.stream_chat([{"role": "user", "content": "x"}], max_tokens=4,
                                       temperature=0, timeout_s=5):
            pass
    await llm.close()
