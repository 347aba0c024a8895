"""The server as a user runs it: the installed console script in a child process on free
ports, with a config file written for the test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def console_script() -> str:
    found = shutil.which("xiaozhi-memd", path=str(Path(sys.executable).parent))
    return found or shutil.which("xiaozhi-memd") or "xiaozhi-memd"


def clean_env() -> dict[str, str]:
    """This process's environment without XIAOZHI_MEMD_* (a test's config file decides)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            **kw: Any) -> subprocess.CompletedProcess[str]:
    """The installed console script with ``args``, as a user runs it; output captured."""
    return subprocess.run([console_script(), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=clean_env(), **kw)


def fatal_line(out: subprocess.CompletedProcess[str]) -> str:
    """The one ``xiaozhi-memd: ...`` line of a run that stopped on a problem the user can fix
    (exit code 2, no traceback)."""
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("xiaozhi-memd:")]
    assert len(errors) == 1, out.stderr
    return errors[0]


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
        self.proc = subprocess.Popen(
            [console_script(), "--config", str(self.config), "serve"],
            stdout=self._log, stderr=subprocess.STDOUT, env=clean_env(),
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


@contextmanager
def running_with_auth(make_server: Callable[..., ServerProcess],
                      admin_key: str) -> Iterator[ServerProcess]:
    """A server with device auth on, the scripted LLM and ``admin_key`` for REST; it must stop
    cleanly at the end."""
    srv = make_server(llm={"provider": "scripted"}, api={"key": admin_key},
                      server={"auth": {"enabled": True}})
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()
