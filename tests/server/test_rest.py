"""REST API: the real `mem0ai` client (current release) against the running daemon, raw HTTP
for errors and auth, and export -> reset -> import through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import run_cli

os.environ.setdefault("MEM0_TELEMETRY", "False")
KEY = "test-key-123"
RULES = {"rules": [
    {"json": True, "match": r"user: .*allergic", "reply": {"facts": ["Is allergic to peanuts"]}},
]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.server import ServerProcess, server_config

    tmp = tmp_path_factory.mktemp("rest")
    rules = tmp / "rules.json"
    rules.write_text(json.dumps(RULES))
    srv = ServerProcess(
        server_config(tmp, api={"key": KEY},
                      llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}}),
        tmp / "server.log")
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="module")
def client(server):
    mem0 = pytest.importorskip("mem0", reason="needs mem0ai (test extra)")
    return mem0.MemoryClient(api_key=KEY, host=server.http_url)


def test_mem0_client_add_search_list_update_history_delete(client) -> None:
    added = client.add([{"role": "user", "content": "I like green tea"}], user_id="alice",
                       infer=False, async_mode=False)
    assert [r["event"] for r in added["results"]] == ["ADD"]
    mid = added["results"][0]["id"]
    client.add("我住在上海", user_id="alice", infer=False, async_mode=False, metadata={"k": "v"})
    client.add("I like coffee", user_id="bob", infer=False, async_mode=False)

    found = client.search("what does she like to drink", filters={"user_id": "alice"})
    texts = [r["memory"] for r in found["results"]]
    assert texts[0] == "I like green tea" and "I like coffee" not in texts
    zh = client.search("住在哪里", filters={"user_id": "alice"})
    assert zh["results"][0]["memory"] == "我住在上海"

    listed = client.get_all(filters={"user_id": "alice"})
    assert listed["count"] == 2 and {r["memory"] for r in listed["results"]} == {
        "I like green tea", "我住在上海"}
    assert client.get(mid)["memory"] == "I like green tea"

    client.update(mid, text="I like jasmine tea")
    assert client.get(mid)["memory"] == "I like jasmine tea"
    hist = client.history(mid)
    assert [h["event"] for h in hist] == ["ADD", "UPDATE"]
    assert hist[1]["old_memory"] == "I like green tea"

    client.delete(mid)
    assert [r["memory"] for r in client.get_all(filters={"user_id": "alice"})["results"]] == [
        "我住在上海"]
    client.delete_all(user_id="alice")
    assert client.get_all(filters={"user_id": "alice"})["results"] == []
    assert [r["memory"] for r in client.get_all(filters={"user_id": "bob"})["results"]] == [
        "I like coffee"]


def test_mem0_client_add_with_inference_is_queued_then_learned(client) -> None:
    queued = client.add("I am allergic to peanuts, remember that.", user_id="carol")
    assert queued["results"][0]["status"] == "PENDING"
    for _ in range(100):
        got = client.get_all(filters={"user_id": "carol"})["results"]
        if got:
            break
        time.sleep(0.1)
    assert [r["memory"] for r in got] == ["Is allergic to peanuts"]


def test_auth_is_required_and_errors_are_clear(server) -> None:
    base = server.http_url
    assert httpx.get(f"{base}/v1/ping/").status_code == 401
    assert httpx.get(f"{base}/v1/ping/", headers={"Authorization": "Token wrong"}).status_code == 401
    ok = {"Authorization": f"Token {KEY}"}
    assert httpx.get(f"{base}/v1/ping/", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    r = httpx.post(f"{base}/v3/memories/search/", headers=ok, content=b"{broken json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = httpx.post(f"{base}/v3/memories/search/", headers=ok, json={"query": "x"})
    assert r.status_code == 400 and "user_id" in r.json()["detail"]
    r = httpx.post(f"{base}/v3/memories/", headers=ok, json=[1, 2])
    assert r.status_code == 400
    r = httpx.post(f"{base}/v3/memories/add/", headers=ok,
                   content=b'{"messages": "' + b"x" * 2_000_000 + b'"}')
    assert r.status_code == 413
    for odd in ["..%2F..%2Fetc%2Fpasswd", "1%20OR%201=1", "%E4%BD%A0%E5%A5%BD", "x" * 300]:
        r = httpx.get(f"{base}/v1/memories/{odd}/", headers=ok)
        assert r.status_code == 404, odd
    r = httpx.post(f"{base}/v3/memories/", headers=ok,
                   json={"filters": {"user_id": "x", "bad key!": 1}})
    assert r.status_code == 400 and "not allowed" in r.json()["detail"]
    # The server is still fine.
    assert httpx.get(f"{base}/v1/ping/", headers=ok).json()["status"] == "ok"


def _cli(cfg: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("--config", str(cfg), "memory", *args, **kw)


def test_export_reset_import_gives_identical_results(tmp_path: Path) -> None:
    """Through the CLI on a real data dir: export, wipe, import (twice: idempotent)."""
    from tests.support.server import write_config

    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(tmp_path / "data")})
    code = """
import asyncio, sys
from daemon.config import load_config
from daemon.memory.factory import open_memory
async def main():
    m = await open_memory(load_config(sys.argv[1]))
    for u, texts in {"u1": ["Lives in Berlin", "喜欢喝绿茶", "Has a cat called Momo"],
                      "u2": ["Works as a nurse", "住在上海"]}.items():
        for t in texts:
            await m.add(t, user_id=u, infer=False, metadata={"src": "test"})
    first = (await m.get_all(user_id="u1"))["results"][0]["id"]
    await m.update(first, "Lives in Munich")
    await m.close()
asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", code, str(cfg)], check=True, timeout=120)

    def snapshot() -> dict:
        out = {}
        for user in ("u1", "u2"):
            listed = _cli(cfg, "list", "--user", user, "--closed", "--json")
            assert listed.returncode == 0, listed.stderr
            out[user] = [json.loads(x) for x in listed.stdout.splitlines()]
            found = _cli(cfg, "search", "where does the user live", "--user", user, "--json")
            out[user + "-search"] = [json.loads(x) for x in found.stdout.splitlines()]
        return out

    before = snapshot()
    assert before["u1"][0]["memory"] == "Lives in Munich"
    export = tmp_path / "export.jsonl"
    assert _cli(cfg, "export", "--output", str(export)).returncode == 0
    lines = export.read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["history"][1]["old_memory"] == "Lives in Berlin"
    assert _cli(cfg, "forget-user", "u2", "--yes").returncode == 0
    assert _cli(cfg, "list", "--user", "u2").stdout == ""
    assert _cli(cfg, "reset").returncode == 1  # asks for --yes
    assert _cli(cfg, "reset", "--yes").returncode == 0
    assert _cli(cfg, "list", "--user", "u1").stdout == ""
    imported = _cli(cfg, "import", str(export))
    assert "imported 5 memories, 0 already present" in imported.stderr
    again = _cli(cfg, "import", str(export))
    assert "imported 0 memories, 5 already present" in again.stderr
    after = snapshot()
    assert after == before
    shown = _cli(cfg, "show", before["u1"][0]["id"])
    assert "UPDATE  Lives in Berlin -> Lives in Munich" in shown.stdout
