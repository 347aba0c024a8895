"""REST errors: which exception is which HTTP status, in one place.

Only what a handler means to say becomes a 4xx: ``NotFound`` (404), ``Forbidden`` (403), bad
input (``ValueError`` and its kin: 400). Anything else is a bug or an outage: a 500 with the
traceback in the log, so a stray ``KeyError`` can never pass for "memory not found".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from daemon.memory.llm_json import LLMOutputError
from daemon.server.auth import Forbidden

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotFound(Exception):
    """The memory (or other thing) the request names does not exist: a 404."""


def error_response(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler``; turn what it raises into the JSON error the client should see."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise  # aiohttp's own (413, 400 from the body checks), already a response
    except NotFound as exc:
        return error_response(404, str(exc) or "not found")
    except Forbidden as exc:
        return error_response(403, str(exc))
    except ValueError as exc:  # FilterError and LimitError are ValueErrors too
        return error_response(400, str(exc))
    except (OverflowError, RecursionError):
        return error_response(400, "a number or nesting in the request is out of range")
    except LLMOutputError as exc:
        return error_response(502, f"the language model gave no usable answer: {exc}")
    except Exception:
        log.exception("REST %s %s failed", request.method, request.path)
        return error_response(500, "internal error (see the server log)")
