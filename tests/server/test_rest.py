"""REST API: the real `mem0ai` client (current release) against the running daemon, and raw HTTP
for errors and auth."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest

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
