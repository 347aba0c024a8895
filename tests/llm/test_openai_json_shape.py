"""JSON of the right shape over the OpenAI-compatible HTTP path: the strongest response_format
the server takes, a check of the answer against the schema, one retry when it is wrong.

A real aiohttp server plays servers of three kinds: one that enforces json_schema, one that
rejects it (as llama-cpp-python's server does, HTTP 422) and one that ignores the schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from daemon.llm.base import LLMError
from daemon.llm.openai_http import OpenAIChatLLM
from daemon.llm.schema_check import check_json, schema_errors
from daemon.memory.prompts import FACTS_SCHEMA, decision_schema

Reply = Callable[[dict[str, Any], int], tuple[int, str]]


def sse(text: str) -> str:
    chunk = {"choices": [{"delta": {"content": text}}]}
    return f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Reply], Any]]:
    runners: list[web.AppRunner] = []

    async def start(reply: Reply) -> tuple[str, list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.json()
            seen.append(body)
            status, text = reply(body, len(seen))
            if status != 200:
                return web.Response(status=status, text=text)
            return web.Response(text=sse(text), content_type="text/event-stream")

        app = web.Application()
        app.router.add_post("/v1/chat/completions", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1", seen

    yield start
    for r in runners:
        await r.cleanup()


GOOD = json.dumps({"facts": ["Lives in Porto"]})
MESSAGES = [{"role": "user", "content": "I live in Porto."}]


async def ask(base: str, schema: dict[str, Any] = FACTS_SCHEMA) -> tuple[OpenAIChatLLM, str]:
    llm = OpenAIChatLLM(base, model="m")
    try:
        return llm, await llm.complete_json(MESSAGES, schema, max_tokens=64, timeout_s=10)
    finally:
        await llm.close()


async def test_json_schema_is_asked_for_first(server: Any) -> None:
    base, seen = await server(lambda body, n: (200, GOOD))
    llm, raw = await ask(base)
    assert raw == GOOD and len(seen) == 1
    fmt = seen[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == FACTS_SCHEMA
    assert llm.json_mode == "json_schema"


async def test_a_server_that_rejects_json_schema_gets_the_schema_its_own_way(server: Any) -> None:
    def reply(body: dict[str, Any], n: int) -> tuple[int, str]:
        if body["response_format"]["type"] == "json_schema":
            return 422, '{"detail": "response_format.type: Input should be json_object"}'
        return 200, GOOD

    base, seen = await server(reply)
    llm, raw = await ask(base)
    assert raw == GOOD
    assert [b["response_format"]["type"] for b in seen] == ["json_schema", "json_object"]
    assert seen[1]["response_format"]["schema"] == FACTS_SCHEMA
    assert llm.json_mode == "json_object_schema"


async def test_a_500_naming_response_format_is_a_rejection_too(server: Any) -> None:
    """What llama-cpp-python's server really answers to json_schema (seen in
    tests/llm/test_openai_http.py)."""
    def reply(body: dict[str, Any], n: int) -> tuple[int, str]:
        if body["response_format"]["type"] == "json_schema":
            return 500, ('{"error": {"message": "1 validation error: (\'body\', '
                         '\'response_format\', \'type\') Input should be \'text\' or '
                         '\'json_object\'"}}')
        return 200, GOOD

    base, seen = await server(reply)
    llm, raw = await ask(base)
    assert raw == GOOD and llm.json_mode == "json_object_schema"
    assert [b["response_format"]["type"] for b in seen] == ["json_schema", "json_object"]


async def test_the_format_that_worked_is_remembered(server: Any) -> None:
    def reply(body: dict[str, Any], n: int) -> tuple[int, str]:
        return (422, "no") if body["response_format"]["type"] == "json_schema" else (200, GOOD)

    base, seen = await server(reply)
    llm = OpenAIChatLLM(base, model="m")
    try:
        for _ in range(2):
            assert await llm.complete_json(MESSAGES, FACTS_SCHEMA, max_tokens=64,
                                           timeout_s=10) == GOOD
    finally:
        await llm.close()
    assert [b["response_format"]["type"] for b in seen] == ["json_schema", "json_object",
                                                             "json_object"]


async def test_a_wrong_shape_is_asked_for_once_more_with_what_was_wrong(server: Any) -> None:
    # A server that ignores the schema: {"fact": ...} first, the right shape when told.
    answers = [json.dumps({"fact": "Lives in Porto"}), GOOD]
    base, seen = await server(lambda body, n: (200, answers[min(n, 2) - 1]))
    _, raw = await ask(base)
    assert raw == GOOD and len(seen) == 2
    told = seen[1]["messages"][-1]["content"]
    assert "missing 'facts'" in told and "unexpected key 'fact'" in told
    assert seen[1]["messages"][-2] == {"role": "assistant", "content": answers[0]}


async def test_only_one_retry_then_the_answer_goes_up_as_it_is(server: Any) -> None:
    wrong = json.dumps({"actions": [{"event": "ADD", "id": "7", "text": "x"}]})
    base, seen = await server(lambda body, n: (200, wrong))
    _, raw = await ask(base, decision_schema(2))
    assert raw == wrong and len(seen) == 2  # ask_json above validates and retries on its own


async def test_other_http_errors_are_errors(server: Any) -> None:
    base, seen = await server(lambda body, n: (500, "boom"))
    with pytest.raises(LLMError, match="HTTP 500"):
        await ask(base)
    assert len(seen) == 1


def test_schema_errors_cover_the_memory_schemas() -> None:
    schema = decision_schema(2)
    ok = {"actions": [{"event": "UPDATE", "id": "1", "text": "Lives in Porto"}]}
    assert schema_errors(ok, schema) == []
    assert schema_errors({"actions": []}, schema) == ["$.actions: fewer than 1 items"]
    bad = {"actions": [{"event": "MOVE", "id": "5", "text": 3}]}
    errors = schema_errors(bad, schema)
    assert any("'MOVE' is not one of" in e for e in errors)
    assert any("'5' is not one of" in e for e in errors)
    assert "$.actions[0].text: expected string, got int" in errors
    assert schema_errors({"facts": ["x" * 400]}, FACTS_SCHEMA) == ["$.facts[0]: longer than 300"]
    assert check_json("```json\n" + GOOD + "\n```", FACTS_SCHEMA) == []
    assert check_json("Sure! Here are the facts", FACTS_SCHEMA)[0].startswith("not JSON")
    assert schema_errors(True, {"type": "integer"}) == ["$: expected integer, got bool"]
