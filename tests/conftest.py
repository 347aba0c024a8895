"""Shared test helpers: free ports, the installed console script, a running server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def console_script() -> str:
    found = shutil.which("xiaozhi-memd", path=str(Path(sys.executable).parent))
    return found or shutil.which("xiaozhi-memd") or "xiaozhi-memd"


def write_config(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


class ServerProcess:
    """``xiaozhi-memd serve`` as a child process on free ports."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        cfg = yaml.safe_load(config.read_text())
        self.ws_port = cfg["server"]["websocket_port"]
        self.http_port = cfg["server"]["http_port"]
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}/xiaozhi/v1/"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
        self.proc = subprocess.Popen(
            [console_script(), "--config", str(self.config), "serve"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            if "ready:" in self.log():
                return time.monotonic() - start
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)


def server_config(tmp: Path, **sections: dict) -> Path:
    settings: dict = {
        "data_dir": str(tmp / "data"),
        "server": {"host": "127.0.0.1", "websocket_port": free_port(), "http_port": free_port()},
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            settings.setdefault(key, {}).update(value)
        else:
            settings[key] = value
    return write_config(tmp / "config.yaml", settings)


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
