"""REST error mapping over real HTTP (aiohttp server on a free port): a missing memory is a 404,
bad input a 400, and a bug in a handler (an unexpected KeyError) a 500 with a log line — never a
404 that hides it. The memory here is a stand-in whose methods fail on purpose."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from aiohttp import web

from daemon.server.rest import add_rest_routes

KEY = "k"
AUTH = {"Authorization": f"Token {KEY}"}


class StandIn:
    """Only the ``Memory`` methods the tested routes call; ``known`` is the one stored id."""

    known = "m1"

    async def get(self, memory_id: str) -> dict[str, Any] | None:
        if memory_id == "buggy":
            return {}["user_id"]  # a bug: a KeyError that has nothing to do with the id
        return {"id": self.known, "memory": "x"} if memory_id == self.known else None

    async def update(self, memory_id: str, *, text: str, metadata: Any = None) -> dict:
        raise KeyError(memory_id)  # deleted meanwhile: Memory's "no such memory"

    async def delete(self, memory_id: str) -> dict:
        raise KeyError("row")  # a bug inside delete

    async def get_all(self, **kwargs: Any) -> dict:
        raise KeyError("results")

    async def history(self, memory_id: str) -> list:
        return []


@pytest.fixture
async def base_url():
    app = web.Application()
    add_rest_routes(app, StandIn(), None, KEY)  # type: ignore[arg-type]
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_missing_memory_is_404(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as c:
        r = await c.get("/v1/memories/nope/")
        assert (r.status_code, r.json()) == (404, {"detail": "memory not found"})
        r = await c.get("/v1/memories/nope/history/")
        assert r.status_code == 404
        r = await c.get("/v1/memories/m1/")
        assert (r.status_code, r.json()["memory"]) == (200, "x")


async def test_memory_deleted_during_update_is_404(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as c:
        r = await c.put("/v1/memories/m1/", json={"text": "y"})
    assert r.status_code == 404


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/memories/buggy/", None),
    ("DELETE", "/v1/memories/m1/", None),
    ("POST", "/v3/memories/", {"user_id": "u"}),
])
async def test_a_handler_bug_is_500_and_logged(
    base_url: str, caplog: pytest.LogCaptureFixture, method: str, path: str, body: Any,
) -> None:
    caplog.set_level(logging.ERROR, logger="daemon.server.errors")
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as c:
        r = await c.request(method, path, json=body)
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error (see the server log)"}
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert logged and logged[0].exc_info[0] is KeyError  # type: ignore[index]
    assert path in logged[0].getMessage()


async def test_bad_input_is_400_and_no_key_is_401(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as c:
        assert (await c.get("/v1/ping/")).status_code == 401
        r = await c.put("/v1/memories/m1/", headers=AUTH, json={"text": 5})
        assert (r.status_code, r.json()) == (400, {"detail": "text must be a string"})
