"""The `mem0ai==1.0.0` client (pinned by xiaozhi-esp32-server) against the running daemon.

1.0.0 cannot share a venv with the current mem0ai, so it gets its own, made once per machine
under ~/.cache (rebuilt from PyPI when missing; skipped with a reason when PyPI is not reachable).
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, server_config

KEY = "k-1.0"
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xiaozhi-memd-tests" / "mem0ai-1.0.0"

SCRIPT = r"""
import json, os, sys
os.environ["MEM0_TELEMETRY"] = "False"
from mem0 import MemoryClient
c = MemoryClient(api_key=sys.argv[1], host=sys.argv[2])
out = {}
a = c.add([{"role": "user", "content": "Likes dumplings"}], user_id="dev1", infer=False,
          async_mode=False)
mid = a["results"][0]["id"]
c.add("住在杭州", user_id="dev1", infer=False, async_mode=False)
c.add("Likes pasta", user_id="dev2", infer=False, async_mode=False)
out["search"] = [r["memory"] for r in c.search("what food do I like", user_id="dev1")["results"]]
out["list"] = sorted(r["memory"] for r in c.get_all(user_id="dev1")["results"])
c.update(mid, "Likes pork dumplings")
out["history"] = [h["event"] for h in c.history(mid)]
c.delete(mid)
out["after_delete"] = [r["memory"] for r in c.get_all(user_id="dev1")["results"]]
c.delete_all(user_id="dev1")
out["after_delete_all"] = c.get_all(user_id="dev1")["results"]
out["other"] = [r["memory"] for r in c.get_all(user_id="dev2")["results"]]
print(json.dumps(out, ensure_ascii=False))
"""


def _client_python() -> Path:
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([py, "-c", "import mem0"], capture_output=True).returncode == 0:
        return py
    VENV.parent.mkdir(parents=True, exist_ok=True)
    venv.create(VENV, with_pip=True, clear=True)
    pip = subprocess.run([py, "-m", "pip", "install", "-q", "mem0ai==1.0.0"],
                         capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"could not install mem0ai==1.0.0: {pip.stderr[-300:]}")
    return py


def test_mem0ai_1_0_client(tmp_path: Path) -> None:
    py = _client_python()
    srv = ServerProcess(server_config(tmp_path, api={"key": KEY}, llm={"provider": "scripted"}),
                        tmp_path / "server.log")
    srv.start()
    try:
        srv.wait_ready()
        run = subprocess.run([py, "-c", SCRIPT, KEY, srv.http_url], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        assert srv.stop() == 0
    assert out["search"][0] == "Likes dumplings"
    assert "Likes pasta" not in out["search"]
    assert out["list"] == ["Likes dumplings", "住在杭州"]
    assert out["history"] == ["ADD", "UPDATE"]
    assert out["after_delete"] == ["住在杭州"]
    assert out["after_delete_all"] == []
    assert out["other"] == ["Likes pasta"]
