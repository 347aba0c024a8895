"""Fast checks of bench/vs_mem0.py: the workload file and loader, the figures, the table and
ratio formatting (on canned numbers) and the counting proxy (against a fake server). The
benchmark itself (real models, minutes) is not run here."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("vs_mem0_bench", ROOT / "bench" / "vs_mem0.py")
assert _spec and _spec.loader
vs = importlib.util.module_from_spec(_spec)
sys.modules["vs_mem0_bench"] = vs
_spec.loader.exec_module(vs)


@pytest.fixture(scope="module")
def raw_workload() -> dict[str, Any]:
    return json.loads(vs.WORKLOAD.read_text(encoding="utf-8"))


# -- the workload -----------------------------------------------------------------------------


def test_workload_file_is_valid(raw_workload: dict[str, Any]) -> None:
    assert vs.validate_workload(raw_workload) == []


def test_workload_loads_with_both_languages_and_contradictions() -> None:
    w = vs.load_workload()
    assert 20 <= len(w.turns) <= 40  # fits the 15-minute budget on 2 cores
    assert {t.language for t in w.turns} == {"en", "zh"}
    assert len({t.id for t in w.turns}) == len(w.turns)
    for lang in ("en", "zh"):
        qs = [q for q in w.questions if q.language == lang]
        assert any(q.kind == "contradiction" for q in qs)
        assert {q.kind for q in qs} >= {"fact", "contradiction"}
    assert all(len({t.session for t in w.turns if t.user_id == u}) >= 2 for u in w.users)
    # users two at a time (English, Chinese), sessions alternating; each user's turns in order
    assert [t.language for t in w.turns if t.id.endswith("-1")] == ["en", "zh", "en", "zh"]
    first_two = {t.user_id for t in w.turns[:12]}
    assert len(first_two) == 2 and {t.language for t in w.turns[:12]} == {"en", "zh"}
    assert [t.session for t in w.turns[:12]] == sorted(t.session for t in w.turns[:12])
    for u in w.users:
        ids = [t.id for t in w.turns if t.user_id == u]
        assert ids == sorted(ids, key=lambda i: int(i.rsplit("-", 1)[1]))
    assert w.turns[0].messages() == [{"role": "user", "content": w.turns[0].user},
                                     {"role": "assistant", "content": w.turns[0].assistant}]


def test_quick_workload_is_a_small_answerable_subset() -> None:
    full, quick = vs.load_workload(), vs.load_workload(quick=True)
    assert 2 <= len(quick.turns) <= 6 and quick.questions
    # the first quick turn answers a question alone (a budget-cut smoke run still scores one)
    assert vs.subset(quick, [quick.turns[0].id]).questions
    assert {t.language for t in quick.turns} == {"en", "zh"}
    assert any(q.kind == "contradiction" for q in quick.questions)
    kept = {t.id for t in quick.turns}
    assert kept <= {t.id for t in full.turns}
    assert all(set(q.needs) <= kept for q in quick.questions)


def test_subset_keeps_the_questions_its_turns_answer() -> None:
    w = vs.load_workload()
    first_user = [t.id for t in w.turns if t.user_id == w.users[0]]
    part = vs.subset(w, first_user)
    assert [t.id for t in part.turns] == first_user
    assert part.questions == [q for q in w.questions if q.user_id == w.users[0]]
    assert vs.subset(w, first_user[:1]).questions == []


def _broken(raw: dict[str, Any], edit: Any) -> list[str]:
    data = copy.deepcopy(raw)
    edit(data)
    return vs.validate_workload(data)


def _first_contradiction(data: dict[str, Any]) -> dict[str, Any]:
    return next(q for q in data["users"][0]["questions"] if q["kind"] == "contradiction")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["users"][0]["sessions"][0][1].update(id=d["users"][0]["sessions"][0][0]["id"]),
     "duplicate id"),
    (lambda d: d["users"][0].update(language="fr"), "'language'"),
    (lambda d: d["users"][0]["sessions"][0][0].update(user=""), "'user'"),
    (lambda d: d["users"][0]["questions"][0].update(kind="gossip"), "'kind'"),
    (lambda d: d["users"][0]["questions"][0].update(expect=[]), "'expect'"),
    (lambda d: d["users"][0]["questions"][0].update(needs=["no-such-turn"]), "not this user's"),
    (lambda d: d["users"][0]["questions"][0].update(needs=[d["users"][1]["sessions"][0][0]["id"]]),
     "not this user's"),
    (lambda d: d["users"][0]["questions"][0].update(expect=["zebra crossing"]),
     "no needed turn says"),
    (lambda d: _first_contradiction(d).update(outdated=[]), "needs the 'outdated'"),
    (lambda d: _first_contradiction(d).update(expect=_first_contradiction(d)["outdated"],
                                             outdated=_first_contradiction(d)["expect"]),
     "said before the current one"),
    (lambda d: d.update(quick_turns=["nope"]), "unknown turns"),
    (lambda d: d.pop("users"), "'users'"),
])
def test_validator_reports_broken_workloads(raw_workload: dict[str, Any], edit: Any,
                                            message: str) -> None:
    problems = _broken(raw_workload, edit)
    assert any(message in p for p in problems), problems


def test_loader_refuses_an_invalid_file(tmp_path: Path, raw_workload: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw_workload)
    bad["users"][0]["language"] = "xx"
    path = tmp_path / "w.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="invalid workload"):
        vs.load_workload(path)


# -- figures and the report -------------------------------------------------------------------


def _call(tag: str, prompt: int, completion: int, *, ok: bool = True, shape: bool = True,
          finish: str = "stop") -> Any:
    return vs.LLMCall(tag, 1.0, prompt, completion, finish, ok, shape if ok else False, 200)


def _canned() -> tuple[Any, Any, list[Any]]:
    w = vs.load_workload()
    q_city = next(q for q in w.questions if q.id == "anna-q1")  # Lisbon, not Berlin
    q_job = next(q for q in w.questions if q.id == "anna-q2")
    q_zh = next(q for q in w.questions if q.id == "wang-q1")
    questions = [q_city, q_job, q_zh]
    mem0 = vs.SystemRun("mem0", startup_s=1.0, stored=6)
    mem0.adds = [
        vs.AddRecord("anna-1", "en", 40.0, [_call("mem0", 9000, 100)], events={"ADD": 2}),
        vs.AddRecord("anna-4", "en", 10.0, [_call("mem0", 9100, 300, ok=False, finish="length")]),
        vs.AddRecord("wang-1", "zh", 10.0, [_call("mem0", 9050, 50, shape=False)]),
        vs.AddRecord("wang-4", "zh", 10.0, [], error="LLMError: context window"),
    ]
    mem0.search_ms = [10.0, 20.0, 30.0]
    mem0.answers = {"anna-q1": ["Lives in Berlin", "Moved to Lisbon"], "anna-q2": [],
                    "wang-q1": ["住在杭州"]}
    mem0.raw_add_ms, mem0.raw_search_ms = [20.0], [10.0]
    mem0.raw_answers = {"anna-q1": ["I moved to Lisbon"], "anna-q2": [], "wang-q1": []}
    ours = vs.SystemRun("ours", startup_s=1.0, stored=5, closed=1)
    ours.adds = [
        vs.AddRecord("anna-1", "en", 4.0, [_call("ours", 500, 40), _call("ours", 400, 30)]),
        vs.AddRecord("anna-4", "en", 6.0, [_call("ours", 500, 40)]),
        vs.AddRecord("wang-1", "zh", 5.0, [_call("ours", 500, 40)]),
        vs.AddRecord("wang-4", "zh", 5.0, [_call("ours", 500, 40)]),
    ]
    ours.search_ms = [5.0, 5.0, 5.0]
    ours.answers = {"anna-q1": ["Lives in Lisbon"], "anna-q2": ["Works as a software tester"],
                    "wang-q1": ["搬到成都了，不在杭州住了"]}
    ours.raw_add_ms, ours.raw_search_ms = [10.0], [5.0]
    ours.raw_answers = {"anna-q1": ["I moved to Lisbon"], "anna-q2": [], "wang-q1": []}
    return mem0, ours, questions


def test_summaries_on_canned_runs() -> None:
    mem0, ours, questions = _canned()
    m, o = vs.summarise(mem0, questions), vs.summarise(ours, questions)
    assert m["add_p50_s"].value == 10.0 and m["add_first_s"].value == 40.0
    assert m["add_p95_s"].value == pytest.approx(35.5)
    assert m["llm_calls_per_add"].value == 0.75 and o["llm_calls_per_add"].value == 1.25
    assert m["prompt_tokens_per_add"].value == pytest.approx((9000 + 9100 + 9050) / 4)
    assert (m["adds_failed"].value, m["adds_failed"].total) == (1, 4)
    assert m["adds_invalid_json"].value == 1 and m["adds_wrong_shape"].value == 1
    assert (m["llm_truncated"].value, m["llm_truncated"].total) == (1, 3)
    # contradictions: mem0's top memory is the outdated city; ours holds the current one.
    assert (m["contradictions_current"].value, m["contradictions_current"].total) == (0, 3)
    assert m["contradictions_outdated"].value == 2  # Berlin, 杭州
    assert o["contradictions_current"].value == 3 and o["contradictions_outdated"].value == 0
    # Top 5: ours' wang-q1 names 杭州 beside 成都 (said together), which still counts.
    assert o["contradictions_top5"].value == 3 and m["contradictions_top5"].value == 0
    assert m["hit5"].value == 1 and o["hit5"].value == 3
    assert (o["hit5_zh"].value, o["hit5_zh"].total) == (1, 1)
    assert m["raw_hit5"].value == 1 and o["closed"].value == 1 and m["closed"].value is None


def test_report_table_and_ratios() -> None:
    mem0, ours, questions = _canned()
    figures = {"mem0": vs.summarise(mem0, questions), "ours": vs.summarise(ours, questions)}
    report = vs.format_report(figures, {"date": "2099-01-01", "workload": "canned",
                                        "run_time": "1.0 min", "notes": ["a note"]})
    lines = report.splitlines()
    assert lines[0] == "# xiaozhi-memd vs mem0: 2099-01-01"
    assert "- workload: canned" in lines and "- a note" in lines
    assert "| figure | mem0 | ours | ours/mem0 | better |" in lines
    assert "| add latency p50 (s) | 10.00 | 5.00 | 0.50 | lower |" in lines
    assert "| search latency p50 (ms) | 20.0 | 5.0 | 0.25 | lower |" in lines
    assert "| adds that raised an error | 1/4 (25%) | 0/4 (0%) | 0.00 | lower |" in lines
    assert "| contradictions resolved (current value top-1) | 0/3 (0%) | 3/3 (100%) | ∞ | higher |" \
        in lines
    assert "| memories closed as outdated | n/a | 1 | — | - |" in lines
    assert "| infer=False: retrieval hit@5 | 1/3 (33%) | 1/3 (33%) | 1.00 | higher |" in lines
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == len(vs.ROWS) + 1
    assert all(line.count("|") == 6 for line in table)


def test_saved_runs_round_trip_and_rescore(tmp_path: Path) -> None:
    mem0, ours, _ = _canned()
    path = tmp_path / "vs_mem0-2099-01-01.json"
    turns = ["anna-1", "anna-4", "wang-1", "wang-4"]
    vs.save_runs(path, {"mem0": mem0, "ours": ours}, {"date": "2099-01-01", "notes": []},
                 turns, False, 14.0)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert vs.run_from_dict(data["runs"]["ours"]) == ours
    assert vs.run_from_dict(data["runs"]["mem0"]) == mem0
    report = vs.rescore(path, vs.WORKLOAD, tmp_path / "out.md")
    assert (tmp_path / "out.md").read_text(encoding="utf-8") == report
    # the turns answer anna-q1 and wang-q1 only: both contradictions, one per language
    assert "CUT SHORT by the 14-minute budget: 4 of 28 turns, 2 of 24 questions" in report
    assert "| contradictions resolved (current value top-1) | 0/2 (0%) | 2/2 (100%) | ∞ | higher |" \
        in report.splitlines()
    assert "Re-scored on" in report


def test_ratio_and_figure_formatting() -> None:
    F = vs.Figure
    assert vs.ratio(F(2.0), F(4.0)) == "0.50"
    assert vs.ratio(F(0.0), F(0.0)) == "—"
    assert vs.ratio(F(1.0), F(0.0)) == "∞"
    assert vs.ratio(F(None), F(1.0)) == "—" and vs.ratio(None, F(1.0)) == "—"
    assert vs.ratio(F(1, 2), F(1, 4)) == "2.00"  # rates when the totals differ
    assert vs.format_figure(F(3, 4), "{:.2f}") == "3/4 (75%)"
    assert vs.format_figure(F(0, 0), "{:.2f}") == "0/0"
    assert vs.format_figure(F(1.234), "{:.1f}") == "1.2"
    assert vs.format_figure(None, "{}") == "n/a"
    assert vs.percentile([], 50) is None
    assert vs.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert vs.percentile([5.0], 95) == 5.0
    assert vs.matches("Moved to LISBON", ["lisbon"]) and not vs.matches("Berlin", ["Lisbon"])


def test_shape_checks() -> None:
    assert vs.mem0_shape({"memory": [{"id": "0", "text": "Lives in Lisbon"}]})
    assert vs.mem0_shape({"memory": []})
    assert not vs.mem0_shape({"memory": ["Lives in Lisbon"]})
    assert not vs.mem0_shape({"facts": []}) and not vs.mem0_shape([])
    assert vs.ours_shape({"facts": ["Lives in Lisbon"]})
    assert vs.ours_shape({"actions": [{"event": "ADD", "id": "new", "text": "x"}]})
    assert not vs.ours_shape({"actions": []}) and not vs.ours_shape({"memory": []})
    same = {"old_topic": "user's job", "new_topic": "user's job", "same": True}
    assert vs.ours_shape(same) and not vs.ours_shape({**same, "same": "yes"})


def test_rescoring_judges_a_saved_answer_by_todays_shape_check() -> None:
    call = _call("ours", 400, 20)
    saved = vs.replace(call, valid_json=True, valid_shape=False,
                       content='{"old_topic": "a", "new_topic": "b", "same": false}')
    assert vs._reshaped(saved).valid_shape is True
    cut = vs.replace(saved, content='{"old_topic": "a", "new_')  # only its start was saved
    assert vs._reshaped(cut).valid_shape is False


# -- the counting proxy (fake upstream, no model) ---------------------------------------------


async def test_proxy_counts_usage_and_replays_streams() -> None:
    from daemon.llm.openai_http import OpenAIChatLLM

    answers = iter(['{"facts": ["Lives in Lisbon"]}', '{"memory": [{"te', "plain text"])
    seen: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        content = next(answers)
        return web.json_response({
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "length" if content.endswith("te") else "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    proxy = vs.CountingProxy(f"http://127.0.0.1:{port}/v1")
    proxy.start()
    llm = OpenAIChatLLM(proxy.url("ours"), model="m")
    try:
        text = await llm.complete_json([{"role": "user", "content": "hi"}], {"type": "object"},
                                       max_tokens=16, timeout_s=10)
        assert json.loads(text) == {"facts": ["Lives in Lisbon"]}
        assert seen[0]["stream"] is False  # asked upstream without streaming
        mark = proxy.mark()
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(f"{proxy.url('mem0')}/chat/completions", json={
                        "messages": [], "response_format": {"type": "json_object"}}) as resp:
                    assert resp.status == 200
                    assert "choices" in await resp.json()
        calls = proxy.since(mark)
    finally:
        await llm.close()
        proxy.stop()
        await runner.cleanup()
    first = proxy.since(0)[0]
    assert (first.tag, first.prompt_tokens, first.completion_tokens) == ("ours", 11, 7)
    assert first.valid_json and first.valid_shape
    assert [(c.tag, c.valid_json, c.finish_reason) for c in calls] == [
        ("mem0", False, "length"), ("mem0", False, "stop")]
