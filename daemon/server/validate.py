"""Request input checked at the edge: JSON body size and nesting, whole numbers in range,
finite numbers. Anything wrong is a 400 (or 413) that names the problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_JSON_DEPTH = 32  # deeper bodies are refused before anything walks them recursively
MAX_PAGE = 1_000_000
MAX_JOB_ID = 2**63 - 1  # SQLite's INTEGER


def _bad(detail: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"detail": detail}),
                              content_type="application/json")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


async def json_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json(loads=json.loads)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size  # aiohttp keeps it only there
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit, actual_size=request.content_length or limit + 1,
            text=json.dumps({"detail": f"the request body is over {limit} bytes "
                                       "(api.max_body_bytes)"}),
            content_type="application/json",
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise _bad("the request body is not valid JSON") from None
    except RecursionError:
        raise _bad(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    if _depth(body) > MAX_JSON_DEPTH:
        raise _bad(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return body


def whole_number(value: Any, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] from JSON or a query string; ValueError (400) otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}")
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 20:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}")
    number = int(text)
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}")
    return number


def finite_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{name} must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number")
    return number
