"""REST API on the HTTP port: a mem0-platform-compatible subset, plus what the web page needs.

The real ``mem0ai`` ``MemoryClient(api_key=..., host="http://HOST:8003")`` works against it,
both the current client (v3 paths) and 1.0.0 (v1/v2 paths, as pinned by xiaozhi-esp32-server).
Every route needs the API key (``Authorization: Token <key>`` as mem0 sends, or ``Bearer``),
compared in constant time. Errors are JSON ``{"detail": ...}`` with a proper status.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from daemon.memory.filters import FilterError, Node, resolve
from daemon.memory.limits import MAX_ID_CHARS, MAX_QUERY_CHARS, check_add
from daemon.memory.llm_json import LLMOutputError
from daemon.memory.memory import Memory, normalise_messages
from daemon.memory.store import Scope
from daemon.memory.worker import MemoryWorker
from daemon.server.auth import DeviceAuth
from daemon.server.validate import MAX_JOB_ID, MAX_PAGE, finite_number, json_body, whole_number

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SCOPE_KEYS = ("user_id", "agent_id", "run_id")
MAX_ID_LEN = MAX_ID_CHARS
AUTH_KEY: web.AppKey[DeviceAuth | None] = web.AppKey("device_auth", object)  # type: ignore[arg-type]
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def load_or_create_api_key(configured: str, data_dir: Path) -> str:
    """The configured key, else the one kept in <data_dir>/api_key (made once, mode 0600)."""
    if configured:
        return configured
    path = data_dir / "api_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    fd = path.open("w", encoding="utf-8")
    try:
        path.chmod(0o600)
        fd.write(key + "\n")
    finally:
        fd.close()
    return key


def _error(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


class Forbidden(Exception):
    """A device key used for another user's memories, or for an admin-only route."""


def allow(request: web.Request, user_id: str | None) -> None:
    """Let the request touch ``user_id``'s memories: the admin key may touch any user; a
    device token (when device auth is on) only its own device's."""
    device_token = request.get("device_token")
    if device_token is None:
        return  # admin
    auth: DeviceAuth | None = request.app.get(AUTH_KEY)
    if (auth is None or not auth.enabled or not user_id
            or not hmac.compare_digest(device_token.encode(), auth.token_for(user_id).encode())):
        raise Forbidden("this key only gives access to its own device's memories")


def admin_only(request: web.Request) -> None:
    if request.get("device_token") is not None:
        raise Forbidden("this needs the admin API key")


def _auth_middleware(api_key: str, device_auth: DeviceAuth | None) -> Any:
    expected = api_key.encode("utf-8")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not (path.startswith("/v1/") or path.startswith("/v2/") or path.startswith("/v3/")
                or path.startswith("/api/")):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        given = token.strip().encode("utf-8") if scheme.lower() in ("token", "bearer") else b""
        if not given:
            return _error(401, "missing API key (send 'Authorization: Token <key>')")
        if not hmac.compare_digest(given, expected):
            if device_auth is None or not device_auth.enabled:
                return _error(401, "invalid API key")
            # Maybe a device token: checked against the user each handler touches.
            request["device_token"] = given.decode("utf-8", "replace")
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Forbidden as exc:
            return _error(403, str(exc))
        except (ValueError, FilterError) as exc:
            return _error(400, str(exc))
        except (OverflowError, RecursionError):
            return _error(400, "a number or nesting in the request is out of range")
        except KeyError:
            return _error(404, "memory not found")
        except LLMOutputError as exc:
            return _error(502, f"the language model gave no usable answer: {exc}")
        except Exception:
            log.exception("REST %s %s failed", request.method, path)
            return _error(500, "internal error (see the server log)")

    return middleware


def _memory_id(request: web.Request) -> str:
    memory_id = request.match_info["memory_id"]
    if not memory_id or len(memory_id) > MAX_ID_LEN:
        raise KeyError(memory_id)
    return memory_id


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


def add_rest_routes(
    app: web.Application, memory: Memory, worker: MemoryWorker | None, api_key: str,
    device_auth: DeviceAuth | None = None,
) -> None:
    app[AUTH_KEY] = device_auth
    app.middlewares.append(_auth_middleware(api_key, device_auth))

    async def owned(memory_id: str, request: web.Request) -> None:
        """Raise unless the caller may touch this memory (404 if it does not exist)."""
        if request.get("device_token") is None:
            return
        found = await memory.get(memory_id)
        if found is None:
            rows = await memory.history(memory_id)
            if not rows:
                raise KeyError(memory_id)
            allow(request, rows[0].get("user_id"))
        else:
            allow(request, found.get("user_id"))
    r = app.router

    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "org_id": "local", "project_id": "local",
                                  "user_email": None, "server": "xiaozhi-memd"})

    async def add(request: web.Request) -> web.Response:
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
        if infer and worker is not None and body.get("async_mode", True) is not False:
            job_id = await worker.enqueue(msgs, user_id=scope["user_id"],
                                          agent_id=scope["agent_id"], run_id=scope["run_id"],
                                          metadata=metadata)
            return web.json_response({"results": [{
                "message": "Memory processing has been queued for background execution",
                "status": "PENDING", "event_id": str(job_id)}]})
        result = await memory.add(messages, metadata=metadata, infer=infer,
                                  timestamp=body.get("timestamp"), **scope)
        return web.json_response(result)

    async def get_one(request: web.Request) -> web.Response:
        await owned(_memory_id(request), request)
        found = await memory.get(_memory_id(request))
        if found is None:
            raise KeyError("memory")
        return web.json_response(found)

    async def get_all(request: web.Request) -> web.Response:
        body = await json_body(request)
        scope, filters = split_scope(body)
        allow(request, scope["user_id"])
        page = whole_number(request.query.get("page", body.get("page", 1)), "page", 1, MAX_PAGE)
        size = whole_number(request.query.get("page_size", body.get("page_size", 100)), "page_size",
                    1, 1000)
        include_closed = bool(body.get("include_closed", False))
        result = await memory.get_all(filters=filters, limit=size + 1, offset=(page - 1) * size,
                                      include_closed=include_closed, **scope)
        items = result["results"]
        more = len(items) > size
        total = None if filters else await memory.count(
            Scope(**scope), include_closed=include_closed
        )
        return web.json_response({
            "count": total if total is not None else len(items[:size]),
            "next": f"?page={page + 1}&page_size={size}" if more else None,
            "previous": f"?page={page - 1}&page_size={size}" if page > 1 else None,
            "results": items[:size],
        })

    async def search(request: web.Request) -> web.Response:
        body = await json_body(request)
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        scope, filters = split_scope(body)
        allow(request, scope["user_id"])
        limit = whole_number(body.get("top_k", body.get("limit", 10)), "top_k", 1, 100)
        threshold = body.get("threshold")
        result = await memory.search(query[:MAX_QUERY_CHARS], filters=filters, limit=limit,
                                     threshold=None if threshold is None
                                     else finite_number(threshold, "threshold"),
                                     **scope)
        return web.json_response(result)

    async def update(request: web.Request) -> web.Response:
        body = await json_body(request)
        memory_id = _memory_id(request)
        await owned(memory_id, request)
        text = body.get("text") if body.get("text") is not None else body.get("data")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        if text is None:
            current = await memory.get(memory_id)
            if current is None:
                raise KeyError(memory_id)
            text = current["memory"]
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        await memory.update(memory_id, text=text, metadata=metadata)
        return web.json_response(await memory.get(memory_id))

    async def delete_one(request: web.Request) -> web.Response:
        await owned(_memory_id(request), request)
        return web.json_response(await memory.delete(_memory_id(request)))

    async def delete_all(request: web.Request) -> web.Response:
        scope = {k: _opt_str(request.query.get(k), k) for k in SCOPE_KEYS}
        if all(v is None for v in scope.values()):
            raise ValueError("delete_all needs user_id, agent_id or run_id")
        allow(request, scope["user_id"])
        return web.json_response(await memory.delete_all(**scope))

    async def history(request: web.Request) -> web.Response:
        memory_id = _memory_id(request)
        await owned(memory_id, request)
        rows = await memory.history(memory_id)
        if not rows:
            raise KeyError(memory_id)
        return web.json_response(rows)

    async def entities(request: web.Request) -> web.Response:
        admin_only(request)
        return web.json_response({"results": await memory.entities()})

    async def delete_entity(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        name = _opt_str(request.match_info["name"], "name")
        if kind not in ("user", "agent", "run") or name is None:
            raise ValueError("entity type must be user, agent or run")
        if kind == "user":
            allow(request, name)
        else:
            admin_only(request)
        await memory.delete_all(**{f"{kind}_id": name})
        return web.json_response({"message": "Entity deleted successfully!"})

    async def jobs(request: web.Request) -> web.Response:
        admin_only(request)
        states = tuple(request.query.get("state", "pending,running,parked").split(","))
        if not set(states) <= {"pending", "running", "parked", "done"}:
            raise ValueError("state must be pending, running, parked or done")
        rows = await memory.jobs(states, limit=500)
        return web.json_response({"results": [j.public() for j in rows]})

    async def retry_job(request: web.Request) -> web.Response:
        admin_only(request)
        job_id = whole_number(request.match_info["job_id"], "job id", 1, MAX_JOB_ID)
        n = await memory.retry_parked(job_id)
        if worker is not None:
            worker.wake()
        return web.json_response({"retried": n})

    for base in ("/v1/ping/", "/v1/ping"):
        r.add_get(base, ping)
    r.add_post("/v1/memories/", add)  # mem0ai 1.0.0
    r.add_post("/v3/memories/add/", add)  # current mem0ai
    r.add_post("/v2/memories/", get_all)
    r.add_post("/v3/memories/", get_all)
    r.add_post("/v2/memories/search/", search)
    r.add_post("/v3/memories/search/", search)
    r.add_post("/v1/memories/search/", search)
    r.add_get("/v1/memories/{memory_id}/", get_one)
    r.add_put("/v1/memories/{memory_id}/", update)
    r.add_delete("/v1/memories/{memory_id}/", delete_one)
    r.add_get("/v1/memories/{memory_id}/history/", history)
    r.add_delete("/v1/memories/", delete_all)
    r.add_get("/v1/entities/", entities)
    r.add_delete("/v2/entities/{kind}/{name}/", delete_entity)
    r.add_get("/api/jobs", jobs)
    r.add_post("/api/jobs/{job_id:\\d+}/retry", retry_job)

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    r.add_get("/", page)
