"""Forget a device through each door (mem0 client, the web page's route, the CLI while the
server runs) while its turn and queued adds are still being learned: afterwards nothing of it
is listed, found, queued, indexed, or in the bytes of the database files."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from daemon.memory.index import partition_file_stem
from daemon.memory.store import EPISODE, FACT, partition_of
from tests.support.devices import HELLO, device_headers, turn_messages
from tests.support.forgotten import files_containing

os.environ.setdefault("MEM0_TELEMETRY", "False")
KEY = "forget-key"
DEVICE = "dd:00:00:00:00:01"
PIN, CATS = "PIN4321QZ", "CATS77QZ"
# Extraction takes 0.3 s, so the forget lands while jobs are queued or running.
RULES = {"token_delay_s": 0.3, "rules": [
    {"json": True, "match": "PIN", "reply": {"facts": [f"PIN code is {PIN}", "Wife is Maria"]}},
    {"json": True, "match": "cats", "reply": {"facts": [f"Eve has two cats {CATS}"]}},
    {"reply": "Noted."},
]}


@pytest.fixture
def server(make_server, tmp_path: Path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    srv = make_server(api={"key": KEY}, audio={"enabled": False},
                      llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}})
    srv.start()
    srv.wait_ready()
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop()


def forget_with_mem0(server) -> None:
    mem0 = pytest.importorskip("mem0", reason="needs mem0ai (test extra)")
    mem0.MemoryClient(api_key=KEY, host=server.http_url).delete_all(user_id=DEVICE)


def forget_with_web_page_route(server) -> None:
    r = httpx.delete(f"{server.http_url}/v2/entities/user/{DEVICE}/",
                     headers={"Authorization": f"Token {KEY}"})
    assert r.status_code == 200, r.text


def forget_with_cli(server) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
    out = subprocess.run([sys.executable, "-m", "daemon", "--config", str(server.config),
                          "memory", "forget-user", DEVICE, "--yes"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("forget", [forget_with_mem0, forget_with_web_page_route,
                                    forget_with_cli], ids=["mem0", "web", "cli"])
def test_forget_leaves_nothing(server, forget, tmp_path: Path) -> None:
    api = httpx.Client(base_url=server.http_url, timeout=60,
                       headers={"Authorization": f"Token {KEY}"})

    async def turn() -> None:
        async with websockets.connect(server.ws_url,
                                      additional_headers=device_headers(DEVICE)) as ws:
            await ws.send(json.dumps(HELLO))
            await ws.recv()
            await ws.send(json.dumps({"type": "listen", "state": "detect", "text":
                                      f"My PIN code is {PIN} and my wife is called Maria."}))
            await turn_messages(ws)

    asyncio.run(turn())
    for _ in range(3):
        r = api.post("/v3/memories/add/", json={"messages": f"I have two cats {CATS}",
                                                  "user_id": DEVICE})
        assert r.json()["results"][0]["status"] == "PENDING"
    api.post("/v3/memories/add/", json={"messages": "The bees are back", "user_id": "other",
                                         "infer": False, "async_mode": False})
    forget(server)

    for _ in range(200):  # the worker finishes whatever it held
        if not api.get("/api/jobs", params={"state": "pending,running"}).json()["results"]:
            break
        time.sleep(0.1)
    time.sleep(2.5)  # a job voided mid-way, then an index save
    listed = api.post("/v3/memories/", json={"user_id": DEVICE}).json()
    assert listed["results"] == [] and listed["count"] == 0
    found = api.post("/v3/memories/search/", json={"query": "PIN code cats wife",
                                                     "user_id": DEVICE}).json()
    assert found["results"] == []
    jobs = api.get("/api/jobs", params={"state": "pending,running,parked,done"}).json()
    assert all(j["user_id"] != DEVICE for j in jobs["results"])
    assert [m["memory"] for m in api.post("/v3/memories/", json={"user_id": "other"}).json()[
        "results"]] == ["The bees are back"]
    api.close()
    assert server.stop() == 0, server.log()

    data = tmp_path / "data"
    db = data / "memory.sqlite3"
    for marker in (PIN, CATS, "Maria", DEVICE):
        assert files_containing(db, marker) == [], marker
    for kind in (FACT, EPISODE):
        stem = partition_file_stem(partition_of(DEVICE, kind))
        assert not list((data / "index").glob(f"{stem}*"))
