"""Two `xiaozhi-memd serve` processes on one PostgreSQL: devices may use either.

Twenty simulated devices are spread over both servers; each tells its server a fact, and
then asks the other server, which must know it (its prompt's memories come from the shared
database). Both servers' workers take the extraction jobs from the one shared queue. Real
embedder (e5), real WebSocket and HTTP servers, real PostgreSQL; the chat model is scripted
and repeats the memories it was given, so what the other server knows is visible.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.devices import HELLO, device_headers, turn_messages
from tests.support.server import ServerProcess, free_port, write_config

pytestmark = pytest.mark.timeout(600)
KEY = "shared-secret-key"
WORDS = ["amber", "basil", "cobalt", "dahlia", "ember", "fjord", "garnet", "hazel", "indigo",
         "juniper", "kestrel", "lilac", "marble", "nutmeg", "orchid", "pepper", "quartz",
         "russet", "saffron", "tundra"]


def _rules() -> dict:
    rules: list[dict] = [
        {"json": True, "match": f"secret word is {w}", "reply": {"facts": [f"Secret word is {w}"]}}
        for w in WORDS]
    rules.append({"json": True, "reply": {"facts": []}})
    rules.append({"reply": "I remember: {memories}"})
    return {"rules": rules}


def _ota_token(server: ServerProcess, device: str) -> str:
    """The token a device gets from this server's OTA check."""
    r = httpx.post(f"{server.http_url}/xiaozhi/ota/", headers=device_headers(device),
                   json={"application": {"version": "1.0.0"}}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["websocket"]["token"]


async def _turn(server: ServerProcess, device: str, text: str, token: str) -> str:
    headers = {**device_headers(device), "Authorization": f"Bearer {token}"}
    async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(json.dumps(HELLO))
        await ws.recv()
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": text}))
        said = [m.get("text", "") for m in await turn_messages(ws)
                if m.get("type") == "tts" and m.get("state") == "sentence_start"]
    return " ".join(said)


def test_facts_told_to_one_server_are_recalled_through_the_other(pg_server, tmp_path: Path) -> None:
    dsn = pg_server.new_dsn()
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(_rules()))
    servers = []
    for i in range(2):
        cfg = write_config(tmp_path / f"config{i}.yaml", {
            "data_dir": str(tmp_path / f"data{i}"),
            "api": {"key": KEY}, "audio": {"enabled": False},
            # Device tokens from either server's OTA are valid on both: one shared secret.
            "server": {"host": "127.0.0.1", "websocket_port": free_port(),
                       "http_port": free_port(),
                       "auth": {"enabled": True, "secret": "one-secret-for-all-servers"}},
            "llm": {"provider": "scripted", "scripted": {"replies_file": str(rules)}},
            # Ten devices at once per server on a shared 2-core box: the lookup may
            # take longer than a device's budget; this test is about sharing, not speed.
            "memory": {"store": "postgresql", "dsn": dsn, "job_lease_s": 10,
                       "lookup_timeout_ms": 20000},
        })
        servers.append(ServerProcess(cfg, tmp_path / f"server{i}.log"))
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready(timeout=120)
        devices = [f"dev-{i:02d}" for i in range(20)]
        # Each device did its OTA check on the server it first talks to.
        tokens = [_ota_token(servers[i % 2], d) for i, d in enumerate(devices)]
        assert all(tokens)

        async def tell_all() -> None:
            await asyncio.gather(*(
                _turn(servers[i % 2], d, f"My secret word is {WORDS[i]}.", tokens[i])
                for i, d in enumerate(devices)))
        asyncio.run(tell_all())

        apis = [httpx.Client(base_url=s.http_url, timeout=60,
                             headers={"Authorization": f"Token {KEY}"}) for s in servers]
        deadline = time.monotonic() + 180
        while apis[0].get("/api/jobs", params={"state": "pending,running"}).json()["results"]:
            assert time.monotonic() < deadline, "jobs not done in time"
            time.sleep(0.2)
        done = apis[1].get("/api/jobs", params={"state": "done"}).json()["results"]
        assert len(done) == 20  # the one shared queue, seen from the other server

        async def ask_all() -> list[str]:
            return await asyncio.gather(*(
                _turn(servers[(i + 1) % 2], d, "What is my secret word?", tokens[i])
                for i, d in enumerate(devices)))
        answers = asyncio.run(ask_all())
        for i, answer in enumerate(answers):
            assert f"Secret word is {WORDS[i]}" in answer, (devices[i], answer)
            others = [w for w in WORDS if w != WORDS[i]]
            assert not any(f"Secret word is {w}" in answer for w in others), answer
        # The same key on both servers; a memory listed through either is the same row.
        for i, d in enumerate(devices[:4]):
            lists = [a.post("/v3/memories/", json={"user_id": d}).json()["results"] for a in apis]
            assert [m["memory"] for m in lists[0]] == [f"Secret word is {WORDS[i]}"]
            assert lists[0] == lists[1]
        for a in apis:
            a.close()
        logs = [s.log() for s in servers]
        assert all("memory job" in log and "done" in log for log in logs), \
            "both servers' workers should have run jobs"
    finally:
        for s in servers:
            if s.proc is not None:
                s.stop()
