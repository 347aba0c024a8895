"""REST cannot cross users without the admin key: with device auth on, a device's own token
(from the OTA endpoint) opens that device's memories and nothing else."""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import running_with_auth

ADMIN = "admin-key-1"
A, B = "aa:00:00:00:0a:0a", "bb:00:00:00:0b:0b"


@pytest.fixture
def server(make_server):
    with running_with_auth(make_server, ADMIN) as srv:
        yield srv


def token_of(server, device: str) -> str:
    r = httpx.post(f"{server.http_url}/xiaozhi/ota/", headers={"Device-Id": device}, json={})
    return r.json()["websocket"]["token"]


def test_device_token_is_scoped_to_its_device(server) -> None:
    base = server.http_url
    admin = {"Authorization": f"Token {ADMIN}"}
    a = {"Authorization": f"Token {token_of(server, A)}"}
    b_id = httpx.post(f"{base}/v3/memories/add/", headers=admin, json={
        "messages": "B's secret", "user_id": B, "infer": False}).json()["results"][0]["id"]

    r = httpx.post(f"{base}/v3/memories/add/", headers=a,
                   json={"messages": "A's note", "user_id": A, "infer": False})
    assert r.status_code == 200
    a_id = r.json()["results"][0]["id"]
    assert httpx.post(f"{base}/v3/memories/", headers=a,
                      json={"filters": {"user_id": A}}).json()["count"] == 1
    assert httpx.get(f"{base}/v1/memories/{a_id}/", headers=a).status_code == 200

    crossings = [
        httpx.post(f"{base}/v3/memories/", headers=a, json={"filters": {"user_id": B}}),
        httpx.post(f"{base}/v3/memories/search/", headers=a,
                   json={"query": "secret", "filters": {"user_id": B}}),
        httpx.post(f"{base}/v3/memories/add/", headers=a,
                   json={"messages": "x", "user_id": B, "infer": False}),
        httpx.get(f"{base}/v1/memories/{b_id}/", headers=a),
        httpx.get(f"{base}/v1/memories/{b_id}/history/", headers=a),
        httpx.put(f"{base}/v1/memories/{b_id}/", headers=a, json={"text": "hacked"}),
        httpx.delete(f"{base}/v1/memories/{b_id}/", headers=a),
        httpx.delete(f"{base}/v1/memories/", headers=a, params={"user_id": B}),
        httpx.delete(f"{base}/v2/entities/user/{B}/", headers=a),
        httpx.post(f"{base}/v3/memories/", headers=a, json={"filters": {"agent_id": "x"}}),
        httpx.get(f"{base}/v1/entities/", headers=a),
        httpx.get(f"{base}/api/jobs", headers=a),
    ]
    assert [r.status_code for r in crossings] == [403] * len(crossings)
    # B's memory is untouched, and the admin key still sees everything.
    got = httpx.get(f"{base}/v1/memories/{b_id}/", headers=admin).json()
    assert got["memory"] == "B's secret"
    users = {e["id"] for e in httpx.get(f"{base}/v1/entities/", headers=admin).json()["results"]}
    assert users == {A, B}
    # A random string is no key at all.
    assert httpx.get(f"{base}/v1/entities/",
                     headers={"Authorization": "Token nope"}).status_code == 403
