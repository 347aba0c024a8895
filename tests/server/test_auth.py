"""Device authentication: OTA-issued per-device tokens, fixed tokens, an allow-list; and no
secret ever reaches the log."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from xiaozhi_sdk import XiaoZhiWebsocket

ALLOWED = "aa:aa:00:00:00:01"
FIXED = "aa:aa:00:00:00:02"
HELLO = {"type": "hello", "version": 1, "transport": "websocket"}


@pytest.fixture
def server(make_server):
    srv = make_server(llm={"provider": "scripted"}, api={"key": "api-secret-xyz"},
                      server={"auth": {"enabled": True, "allowed_devices": [ALLOWED, FIXED],
                                       "tokens": {FIXED: "fixed-token-abc"}}})
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()


async def hello_with(url: str, headers: dict[str, str]) -> dict:
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(HELLO))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg["type"] == "hello":
                return msg


async def test_ota_token_lets_the_real_client_in(server) -> None:
    dev = XiaoZhiWebsocket(lambda m: asyncio.sleep(0), ota_url=f"{server.http_url}/xiaozhi/ota")
    assert await dev.init_connection(ALLOWED)
    token = dev.websocket_token
    assert len(token) >= 32 and dev.session_id
    await dev.close()
    # The same token works by hand, a wrong one, none, or a bare "Bearer" does not.
    ok = await hello_with(server.ws_url, {"Device-Id": ALLOWED, "Authorization": f"Bearer {token}"})
    assert ok["session_id"]
    for auth in ("Bearer wrong", "", "Bearer", f"Bearer {token}x"):
        headers = {"Device-Id": ALLOWED, "Authorization": auth} if auth else {"Device-Id": ALLOWED}
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await hello_with(server.ws_url, headers)
        assert refused.value.response.status_code == 401
    # A token is bound to its device.
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await hello_with(server.ws_url, {"Device-Id": FIXED, "Authorization": f"Bearer {token}"})
    assert token not in server.log()


async def test_fixed_token_and_query_parameters(server) -> None:
    url = server.ws_url + f"?device-id={FIXED}&client-id=web&authorization=Bearer%20fixed-token-abc"
    assert (await hello_with(url, {}))["type"] == "hello"
    assert "fixed-token-abc" not in server.log()


async def test_allow_list_applies_to_ota_and_websocket(server) -> None:
    stranger = "bb:bb:00:00:00:09"
    r = httpx.post(f"{server.http_url}/xiaozhi/ota/", headers={"Device-Id": stranger}, json={})
    assert r.status_code == 403
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await hello_with(server.ws_url, {"Device-Id": stranger, "Authorization": "Bearer x"})
    assert refused.value.response.status_code == 401
    assert "not in the allow-list" in server.log()
    # The REST API key is not logged either.
    httpx.get(f"{server.http_url}/v1/ping/", headers={"Authorization": "Token api-secret-xyz"})
    assert "api-secret-xyz" not in server.log()
