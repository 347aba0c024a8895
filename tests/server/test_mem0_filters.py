"""mem0's filter language over REST, through the real ``mem0ai`` client against the running
server: the same forms and expected memories as the Python API (tests/support/filter_cases.py),
the forms issue 14 found failing, errors as 400s naming the part, and device keys kept on their
own user whatever the filter."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.support.filter_cases import FORMS, SEED, keys_of, with_ids
from tests.support.server import running_with_auth

os.environ.setdefault("MEM0_TELEMETRY", "False")
ADMIN = "filters-admin-key"
A, B = "aa:00:00:00:0a:0a", "bb:00:00:00:0b:0b"


@pytest.fixture
def server(make_server):
    with running_with_auth(make_server, ADMIN) as srv:
        yield srv


@pytest.fixture
def client(server):
    mem0 = pytest.importorskip("mem0", reason="needs mem0ai (test extra)")
    return mem0.MemoryClient(api_key=ADMIN, host=server.http_url)


def _seed(client) -> dict[str, str]:
    ids = {}
    for key, scope, text, meta, ts in SEED:
        out = client.add(text, metadata=meta, infer=False, async_mode=False, timestamp=ts, **scope)
        ids[key] = out["results"][0]["id"]
    return ids


def test_every_form_through_the_mem0_client(client) -> None:
    ids = _seed(client)
    wrong = []
    for filters, kwargs, expected in FORMS:
        # the current client takes scope ids only inside filters
        f = with_ids({**filters, **kwargs}, ids)
        listed = client.get_all(filters=f)
        found = client.search("what do you know about me", filters=f, threshold=0.0)
        if keys_of(listed, ids) != expected or keys_of(found, ids) != expected:
            wrong.append((f, expected, keys_of(listed, ids), keys_of(found, ids)))
        # count is of the filtered memories, not of the whole user
        if listed["count"] != len(expected):
            wrong.append((f, "count", listed["count"]))
    assert wrong == []

    # The forms issue 14 found failing with mem0ai 2.2.1, one by one.
    def got(**kw) -> list[str]:
        return keys_of(client.get_all(**kw), ids)

    assert got(filters={"user_id": "alice", "metadata": {"source": "test"}}) == ["a1", "a3"]
    assert got(filters={"user_id": "alice", "keywords": {"icontains": "berlin"}}) == ["a2"]
    assert got(filters={"user_id": {"in": ["bob", "carol"]}}) == ["b1", "c1"]
    assert got(filters={"OR": [{"user_id": "alice"}, {"user_id": "carol"}]}) == [
        "a1", "a2", "a3", "c1"]
    assert got(filters={"user_id": "*", "memory_ids": [ids["a3"], ids["b1"]]}) == ["a3", "b1"]
    assert got(filters={"user_id": "alice", "created_at": {"gte": "2020-06-01"}}) == ["a2", "a3"]
    hits = client.search("green tea", filters={"AND": [{"user_id": "alice"},
                                                       {"created_at": {"lt": "2021-01-01"}}]})
    assert keys_of(hits, ids) == ["a1"]


BAD = [  # (filters, what the 400 says)
    ({"user_id": "alice", "source": {"like": "t%"}}, "filter source: unknown operator 'like'"),
    ({"user_id": "alice", "metadata": {"source": {"regex": "."}}},
     "filter metadata.source: unknown operator 'regex'"),
    ({"user_id": "alice", "created_at": {"gte": "yesterday"}}, "created_at.gte: 'yesterday'"),
    ({"user_id": "alice", "app_id": "x"}, "filter field 'app_id' is not supported"),
    ({"user_id": {"gt": "a"}}, "operator 'gt' does not apply to user_id"),
    ({"source": "test"}, "one of user_id, agent_id or run_id is required"),
]


def test_bad_filters_are_a_400_naming_the_part(server, client) -> None:
    for filters, detail in BAD:
        for path, extra in (("/v3/memories/", {}), ("/v3/memories/search/", {"query": "tea"})):
            r = httpx.post(f"{server.http_url}{path}", json={"filters": filters, **extra},
                           headers={"Authorization": f"Token {ADMIN}"})
            assert r.status_code == 400 and detail in r.json()["detail"], (path, r.text)
        with pytest.raises(Exception, match=detail.replace("(", r"\(")):
            client.get_all(filters=filters)


def test_a_device_key_stays_on_its_own_user(server) -> None:
    base = server.http_url
    admin = {"Authorization": f"Token {ADMIN}"}
    ota = httpx.post(f"{base}/xiaozhi/ota/", headers={"Device-Id": A}, json={}).json()
    a = {"Authorization": f"Token {ota['websocket']['token']}"}
    for user, text in ((A, "A likes tea"), (B, "B's secret tea")):
        httpx.post(f"{base}/v3/memories/add/", headers=admin,
                   json={"messages": text, "user_id": user, "infer": False}).raise_for_status()

    def texts(r: httpx.Response) -> list[str]:
        assert r.status_code == 200, r.text
        return [m["memory"] for m in r.json()["results"]]

    # Its own user plainly, with any filter ANDed: only its own memories.
    assert texts(httpx.post(f"{base}/v3/memories/", headers=a, json={"filters": {
        "user_id": A, "OR": [{"user_id": B}, {"keywords": "tea"}]}})) == ["A likes tea"]
    assert texts(httpx.post(f"{base}/v3/memories/search/", headers=a, json={
        "query": "tea", "filters": {"AND": [{"user_id": A}, {"user_id": {"ne": A}}]}})) == []
    # Any filter that could reach another user is refused, never widened.
    for filters in ({"user_id": "*"}, {"user_id": {"in": [A, B]}},
                    {"OR": [{"user_id": A}, {"user_id": B}]}, {"NOT": {"user_id": A}},
                    {"user_id": {"ne": A}}, {"agent_id": "*"}):
        for path, extra in (("/v3/memories/", {}), ("/v3/memories/search/", {"query": "tea"})):
            r = httpx.post(f"{base}{path}", headers=a, json={"filters": filters, **extra})
            assert r.status_code == 403, (filters, path, r.text)
    # The admin key reads across users with the wildcard.
    assert sorted(texts(httpx.post(f"{base}/v3/memories/", headers=admin,
                                   json={"filters": {"user_id": "*"}}))) == [
        "A likes tea", "B's secret tea"]
