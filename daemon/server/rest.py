"""REST API on the HTTP port: a mem0-platform-compatible subset, plus what the web page needs.

The real ``mem0ai`` ``MemoryClient(api_key=..., host="http://HOST:8003")`` works against it,
both the current client (v3 paths) and 1.0.0 (v1/v2 paths, as pinned by xiaozhi-esp32-server).
Every route needs the API key (``Authorization: Token <key>`` as mem0 sends, or ``Bearer``;
``daemon.server.auth``). Errors are JSON ``{"detail": ...}`` with a proper status
(``daemon.server.errors``). The handlers use ``AsyncMemory``'s public methods only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from daemon.memory.filters import Node, resolve
from daemon.memory.limits import MAX_ID_CHARS, MAX_QUERY_CHARS, check_add
from daemon.memory.memory import AsyncMemory, normalise_messages
from daemon.memory.store import Scope
from daemon.memory.worker import MemoryWorker
from daemon.server.auth import (
    AUTH_KEY,
    DeviceAuth,
    admin_only,
    allow,
    check_api_key,
    is_admin,
    load_or_create_api_key,
    needs_api_key,
)
from daemon.server.errors import Handler, NotFound, answer_errors, error_response
from daemon.server.validate import MAX_JOB_ID, MAX_PAGE, finite_number, json_body, whole_number

__all__ = [
    "JobHandlers",
    "MemoryHandlers",
    "NotFound",
    "add_rest_routes",
    "load_or_create_api_key",
    "split_scope",
]

SCOPE_KEYS = ("user_id", "agent_id", "run_id")
MAX_ID_LEN = MAX_ID_CHARS
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
NO_MEMORY = "memory not found"


def _middleware(api_key: str, device_auth: DeviceAuth | None) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not needs_api_key(request.path):
            return await handler(request)
        refused = check_api_key(request, api_key, device_auth)
        if refused is not None:
            return error_response(401, refused)
        return await answer_errors(request, handler)

    return middleware


def _memory_id(request: web.Request) -> str:
    memory_id = request.match_info["memory_id"]
    if not memory_id or len(memory_id) > MAX_ID_LEN:
        raise NotFound(NO_MEMORY)  # no memory can have such an id
    return memory_id


@contextmanager
def _missing_is_not_found(memory_id: str) -> Iterator[None]:
    """``AsyncMemory.update``/``delete`` say "no such memory" as ``KeyError(memory_id)`` (mem0's
    shape); that one, and only that one, is a 404 (it can happen when a delete races us)."""
    try:
        yield
    except KeyError as exc:
        if exc.args != (memory_id,):
            raise
        raise NotFound(NO_MEMORY) from None


def _opt_str(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or len(str(value)) > MAX_ID_LEN:
        raise ValueError(f"{name} must be a string of at most {MAX_ID_LEN} characters")
    return str(value)


def split_scope(body: dict[str, Any]) -> tuple[dict[str, str | None], Node | None]:
    """Scope ids (top level, or plain ids inside ``filters``) and the rest of the filters,
    parsed: the one filter language of REST and Python (daemon/memory/filters). A device key
    still needs its own plain ``user_id`` (``allow``), which every filter is ANDed with."""
    ids = {k: _opt_str(body.get(k), k) for k in SCOPE_KEYS}
    filters = body.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise ValueError("filters must be an object")
    found = resolve(filters, **ids)
    return found.ids(), found.where


class MemoryHandlers:
    """The mem0 routes: add, search, list, get, update, delete, history, entities."""

    def __init__(self, memory: AsyncMemory, worker: MemoryWorker | None) -> None:
        self.memory = memory
        self.worker = worker

    def add_routes(self, r: web.UrlDispatcher) -> None:
        for base in ("/v1/ping/", "/v1/ping"):
            r.add_get(base, self.ping)
        r.add_post("/v1/memories/", self.add)  # mem0ai 1.0.0
        r.add_post("/v3/memories/add/", self.add)  # current mem0ai
        r.add_post("/v2/memories/", self.get_all)
        r.add_post("/v3/memories/", self.get_all)
        r.add_post("/v2/memories/search/", self.search)
        r.add_post("/v3/memories/search/", self.search)
        r.add_post("/v1/memories/search/", self.search)
        r.add_get("/v1/memories/{memory_id}/", self.get_one)
        r.add_put("/v1/memories/{memory_id}/", self.update)
        r.add_delete("/v1/memories/{memory_id}/", self.delete_one)
        r.add_get("/v1/memories/{memory_id}/history/", self.history)
        r.add_delete("/v1/memories/", self.delete_all)
        r.add_get("/v1/entities/", self.entities)
        r.add_delete("/v2/entities/{kind}/{name}/", self.delete_entity)

    async def _found(self, memory_id: str) -> dict[str, Any]:
        found = await self.memory.get(memory_id)
        if found is None:
            raise NotFound(NO_MEMORY)
        return found

    async def _owned(self, request: web.Request, memory_id: str) -> None:
        """Raise unless the caller may touch this memory (NotFound if it never existed)."""
        if is_admin(request):
            return
        found = await self.memory.get(memory_id)
        if found is not None:
            allow(request, found.get("user_id"))
            return
        rows = await self.memory.history(memory_id)  # deleted: its history still says whose
        if not rows:
            raise NotFound(NO_MEMORY)
        allow(request, rows[0].get("user_id"))

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "org_id": "local", "project_id": "local",
                                  "user_email": None, "server": "xiaozhi-memd"})

    async def add(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        messages = body.get("messages")
        if messages is None or messages == [] or messages == "":
            raise ValueError("messages is required")
        scope, _ = split_scope(body)
        allow(request, scope["user_id"])
        metadata = body.get("metadata") or None
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        infer = body.get("infer", True) is not False
        msgs = [dict(m) for m in normalise_messages(messages)]
        check_add(msgs, infer)  # over a limit: 400 naming it, before any work or queueing
        # mem0's platform queues adds by default (async_mode); without an LLM worker, or for
        # infer=False, or when asked, the add runs now and returns its events.
        if infer and self.worker is not None and body.get("async_mode", True) is not False:
            job_id = await self.worker.enqueue(msgs, user_id=scope["user_id"],
                                               agent_id=scope["agent_id"],
                                               run_id=scope["run_id"], metadata=metadata)
            return web.json_response({"results": [{
                "message": "Memory processing has been queued for background execution",
                "status": "PENDING", "event_id": str(job_id)}]})
        result = await self.memory.add(messages, metadata=metadata, infer=infer,
                                       timestamp=body.get("timestamp"), **scope)
        return web.json_response(result)

    async def get_one(self, request: web.Request) -> web.Response:
        memory_id = _memory_id(request)
        await self._owned(request, memory_id)
        return web.json_response(await self._found(memory_id))

    async def get_all(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        scope, filters = split_scope(body)
        allow(request, scope["user_id"])
        page = whole_number(request.query.get("page", body.get("page", 1)), "page", 1, MAX_PAGE)
        size = whole_number(request.query.get("page_size", body.get("page_size", 100)),
                            "page_size", 1, 1000)
        include_closed = bool(body.get("include_closed", False))
        result = await self.memory.get_all(filters=filters, limit=size + 1,
                                           offset=(page - 1) * size,
                                           include_closed=include_closed, **scope)
        items = result["results"]
        more = len(items) > size
        total = None if filters else await self.memory.count(
            Scope(**scope), include_closed=include_closed
        )
        return web.json_response({
            "count": total if total is not None else len(items[:size]),
            "next": f"?page={page + 1}&page_size={size}" if more else None,
            "previous": f"?page={page - 1}&page_size={size}" if page > 1 else None,
            "results": items[:size],
        })

    async def search(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        scope, filters = split_scope(body)
        allow(request, scope["user_id"])
        limit = whole_number(body.get("top_k", body.get("limit", 10)), "top_k", 1, 100)
        threshold = body.get("threshold")
        result = await self.memory.search(query[:MAX_QUERY_CHARS], filters=filters, limit=limit,
                                          threshold=None if threshold is None
                                          else finite_number(threshold, "threshold"),
                                          **scope)
        return web.json_response(result)

    async def update(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        memory_id = _memory_id(request)
        await self._owned(request, memory_id)
        text = body.get("text") if body.get("text") is not None else body.get("data")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        if text is None:
            text = (await self._found(memory_id))["memory"]
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        with _missing_is_not_found(memory_id):
            await self.memory.update(memory_id, text=text, metadata=metadata)
        return web.json_response(await self._found(memory_id))

    async def delete_one(self, request: web.Request) -> web.Response:
        memory_id = _memory_id(request)
        await self._owned(request, memory_id)
        with _missing_is_not_found(memory_id):
            return web.json_response(await self.memory.delete(memory_id))

    async def delete_all(self, request: web.Request) -> web.Response:
        scope = {k: _opt_str(request.query.get(k), k) for k in SCOPE_KEYS}
        if all(v is None for v in scope.values()):
            raise ValueError("delete_all needs user_id, agent_id or run_id")
        allow(request, scope["user_id"])
        return web.json_response(await self.memory.delete_all(**scope))

    async def history(self, request: web.Request) -> web.Response:
        memory_id = _memory_id(request)
        await self._owned(request, memory_id)
        rows = await self.memory.history(memory_id)
        if not rows:
            raise NotFound(NO_MEMORY)
        return web.json_response(rows)

    async def entities(self, request: web.Request) -> web.Response:
        admin_only(request)
        return web.json_response({"results": await self.memory.entities()})

    async def delete_entity(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        name = _opt_str(request.match_info["name"], "name")
        if kind not in ("user", "agent", "run") or name is None:
            raise ValueError("entity type must be user, agent or run")
        if kind == "user":
            allow(request, name)
        else:
            admin_only(request)
        await self.memory.delete_all(**{f"{kind}_id": name})
        return web.json_response({"message": "Entity deleted successfully!"})


class JobHandlers:
    """The admin routes of the memory worker's queue (the web page's jobs panel)."""

    def __init__(self, memory: AsyncMemory, worker: MemoryWorker | None) -> None:
        self.memory = memory
        self.worker = worker

    def add_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/api/jobs", self.jobs)
        r.add_post("/api/jobs/{job_id:\\d+}/retry", self.retry)

    async def jobs(self, request: web.Request) -> web.Response:
        admin_only(request)
        states = tuple(request.query.get("state", "pending,running,parked").split(","))
        if not set(states) <= {"pending", "running", "parked", "done"}:
            raise ValueError("state must be pending, running, parked or done")
        rows = await self.memory.jobs(states, limit=500)
        return web.json_response({"results": [j.public() for j in rows]})

    async def retry(self, request: web.Request) -> web.Response:
        admin_only(request)
        job_id = whole_number(request.match_info["job_id"], "job id", 1, MAX_JOB_ID)
        n = await self.memory.retry_parked(job_id)
        if self.worker is not None:
            self.worker.wake()
        return web.json_response({"retried": n})


def add_rest_routes(
    app: web.Application, memory: AsyncMemory, worker: MemoryWorker | None, api_key: str,
    device_auth: DeviceAuth | None = None,
) -> None:
    """The REST API, its key check and error mapping, and the web page at ``/``."""
    app[AUTH_KEY] = device_auth
    app.middlewares.append(_middleware(api_key, device_auth))
    MemoryHandlers(memory, worker).add_routes(app.router)
    JobHandlers(memory, worker).add_routes(app.router)

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    app.router.add_get("/", page)
