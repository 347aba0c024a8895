"""Bad numbers, ids, sizes and nesting at the edge get a 400/413 naming the problem, never a
500; a device's over-long text gets a short answer instead of a turn and a job; `doctor`
recognises its own running server on the ports."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

import httpx
import pytest
import websockets

from tests.support.devices import HELLO, device_headers, turn_messages

KEY = "edge-key"


@pytest.fixture
def server(make_server):
    srv = make_server(api={"key": KEY}, llm={"provider": "scripted"}, audio={"enabled": False})
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()


def api(server) -> httpx.Client:
    return httpx.Client(base_url=server.http_url, timeout=30,
                        headers={"Authorization": f"Token {KEY}"})


BAD_REQUESTS = [
    # (method, path, json body or raw bytes, expected status, words the detail must name)
    ("POST", "/api/jobs/99999999999999999999999/retry", None, 400, "job id"),
    ("POST", "/v3/memories/?page=100000000000000000000000", {"user_id": "u"}, 400, "page"),
    ("POST", "/v3/memories/?page_size=abc", {"user_id": "u"}, 400, "page_size"),
    ("POST", "/v3/memories/", {"user_id": "u", "page": -3}, 400, "page"),
    ("POST", "/v3/memories/", {"user_id": "u", "page": [1]}, 400, "page"),
    ("POST", "/v3/memories/search/", {"query": "x", "user_id": "u", "top_k": 10**30}, 400,
     "top_k"),
    ("POST", "/v3/memories/search/", {"query": "x", "user_id": "u", "threshold": {"a": 1}},
     400, "threshold"),
    ("POST", "/v3/memories/search/", {"query": "x", "user_id": "u", "threshold": "nan"}, 400,
     "threshold"),
    ("POST", "/v3/memories/add/", {"messages": "hi", "user_id": "x" * 10_000}, 400,
     "at most 200 characters"),
    ("POST", "/v3/memories/add/", {"messages": "y" * 100_000, "user_id": "u", "infer": False},
     400, "at most 2000 characters"),
    ("POST", "/v3/memories/add/", {"messages": "y" * 100_000, "user_id": "u"}, 400,
     "at most 16000 characters"),
    ("POST", "/v3/memories/add/", b"[" * 200_000 + b"]" * 200_000, 400, "nested deeper"),
    ("POST", "/v3/memories/add/",
     {"messages": "hi", "user_id": "u", "metadata": json.loads('{"a":' * 100 + "1" + "}" * 100)},
     400, "nested deeper than 32"),
    ("POST", "/v3/memories/add/", b'{"messages": "' + b"z" * 1_100_000 + b'"}', 413,
     "1048576 bytes"),
]


@pytest.mark.parametrize("method,path,body,status,words", BAD_REQUESTS,
                         ids=[f"{c[1].split('?')[0]}-{i}" for i, c in enumerate(BAD_REQUESTS)])
def test_bad_input_is_a_clear_4xx(server, method, path, body, status, words) -> None:
    with api(server) as c:
        if isinstance(body, bytes):
            r = c.request(method, path, content=body,
                          headers={"Content-Type": "application/json"})
        else:
            r = c.request(method, path, json=body)
        assert r.status_code == status, r.text[:300]
        assert words in r.json()["detail"], r.json()
        # The server goes on serving.
        ok = c.post("/v3/memories/add/", json={"messages": "Lives in Lisbon", "user_id": "ok",
                                                "infer": False, "async_mode": False})
        assert ok.status_code == 200 and ok.json()["results"][0]["event"] == "ADD"
    assert "internal error" not in server.log() and "Traceback" not in server.log()


def test_over_long_device_text_gets_a_short_answer_and_no_job(server) -> None:
    async def go() -> list[dict]:
        async with websockets.connect(server.ws_url, max_size=None,
                                      additional_headers=device_headers("cc:00:00:00:00:01")) as ws:
            await ws.send(json.dumps(HELLO))
            await ws.recv()
            await ws.send(json.dumps({"type": "listen", "state": "detect", "text": "w" * 100_000}))
            return await turn_messages(ws)

    got = asyncio.run(go())
    said = [m["text"] for m in got if m.get("state") == "sentence_start"]
    assert len(said) == 1 and "too long" in said[0]
    assert not any(m.get("type") == "stt" for m in got)  # no turn: nothing echoed back
    with api(server) as c:
        jobs = c.get("/api/jobs", params={"state": "pending,running,parked,done"}).json()
    assert jobs["results"] == []


def doctor(config) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "doctor"],
                          capture_output=True, text=True, timeout=120, env=env)


def test_doctor_recognises_its_own_running_server(server) -> None:
    out = doctor(server.config)
    for port in (server.ws_port, server.http_port):
        assert f"port {port}: xiaozhi-memd is running (pid {server.proc.pid})" in out.stdout, \
            out.stdout
    assert "in use" not in out.stdout


def test_doctor_still_fails_on_a_port_someone_else_holds(make_server) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        srv = make_server(server={"websocket_port": port}, llm={"provider": "scripted"})
        out = doctor(srv.config)
    assert f"[FAIL] websocket port {port} is in use" in out.stdout, out.stdout
