"""Load and churn against the real server: many devices at once, rapid connect/disconnect;
no errors, no leaked descriptors or tasks, bounded memory."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[2]
HELLO = {"type": "hello", "version": 1, "transport": "websocket"}


def test_100_devices_doing_turns(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_bench.py"), "--devices", "100",
         "--seconds", "15", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(r)
    assert r["errors"] == 0 and r["turns"] > 100
    assert r["server_exit_code"] == 0
    assert r["fds_after"] <= r["fds_before"] + 2
    assert r["tasks_after"] <= r["tasks_before"] + 3
    assert r["rss_kb_after"] - r["rss_kb_before"] < 300_000


async def test_1000_rapid_connect_disconnect_cycles(make_server) -> None:
    server = make_server(llm={"provider": "scripted"}, logging={"level": "WARNING"})
    server.start()
    server.wait_ready()
    before = httpx.get(server.http_url + "/health").json()

    async def churn(worker: int) -> None:
        for i in range(100):
            headers = {"Device-Id": f"ch:ur:00:00:{worker:02x}:{i:02x}"}
            async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
                if i % 3 == 0:
                    await ws.send(json.dumps(HELLO))
                    await asyncio.wait_for(ws.recv(), 10)
                if i % 5 == 0:
                    ws.transport.abort()  # vanish without a close frame

    await asyncio.gather(*(churn(w) for w in range(10)))
    after = before
    for _ in range(100):
        after = httpx.get(server.http_url + "/health").json()
        if after["devices"] == 0 and after["tasks"] <= before["tasks"] + 2:
            break
        await asyncio.sleep(0.1)
    assert after["devices"] == 0
    assert after["fds"] <= before["fds"] + 2, (before, after)
    assert after["tasks"] <= before["tasks"] + 2, (before, after)
    assert after["rss_kb"] - before["rss_kb"] < 100_000
    assert server.stop() == 0
    assert "Traceback" not in server.log()
