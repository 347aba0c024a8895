#!/usr/bin/env python3
"""Side by side: the same workload through mem0 (``mem0ai``'s open-source ``Memory``) and ours.

Both systems run fully offline on the same models:

* LLM: one ``python -m llama_cpp.server`` process serving the packaged SmolLM2-135M-Instruct
  GGUF. Both systems reach it through a small counting proxy (started here, in a thread), which
  records every call: prompt/completion tokens (read from the server's ``usage``), time, whether
  the answer is valid JSON, of the shape the system expects, or cut off at ``max_tokens``.
  mem0 uses its ``openai`` LLM provider; ours uses ``daemon.llm.openai_http.OpenAIChatLLM`` (so
  the model, the server and its prompt cache are shared: the fairest set-up). Ours streams;
  llama_cpp.server puts no ``usage`` in streamed answers, so the proxy asks the server without
  streaming and replays the answer as one server-sent-events chunk (no effect on timing: both
  systems wait for the whole JSON answer anyway).
* Embeddings: the packaged all-MiniLM-L6-v2 sentence-transformers folder, through mem0's
  ``huggingface`` embedder and our ``SentenceTransformerEmbedder``; torch on 1 thread.
* Storage: mem0 with its local Qdrant (path mode) and its SQLite history db in a temp dir; ours
  with its SQLite store and HNSW indexes in a temp dir (built by ``daemon.memory.factory``).

The workload (``bench/data/vs_mem0_workload.json``) is scripted multi-session conversations in
English and Chinese. Each turn is one ``add()``; then every question is searched (top 5) and
scored: hit@5 (an expected keyword in any of the 5 memories), and for contradictions whether
the top memory holds the current value or only the outdated one. The same turns are also
stored with ``infer=False`` (no LLM) to compare the retrieval stacks alone.

Usage::

    python bench/vs_mem0.py            # up to 28 adds per system, at most ~15 min
    python bench/vs_mem0.py --quick    # smoke run: up to 4 adds per system, 3-minute budget

mem0's first add alone takes minutes here (its extraction prompt is ~8,500 tokens: see
DEFAULT_N_CTX), so the time budget (``--budget-min``) usually cuts the run short; both systems
then run the same turns and only the questions those turns answer are scored.

Prints a table (figures per system and ours/mem0) and writes it to
``bench/results/vs_mem0-<date>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKLOAD = ROOT / "bench" / "data" / "vs_mem0_workload.json"
RESULTS = ROOT / "bench" / "results"
LANGUAGES = ("en", "zh")
KINDS = ("fact", "preference", "plan", "contradiction")
SYSTEMS = ("mem0", "ours")
TOP_K = 5
SEARCH_REPEATS = 3
# mem0 2.2.1's extraction system prompt alone is ~8,500 SmolLM2 tokens, more than the model's
# trained context (8,192): the server needs a larger window or every mem0 add fails.
DEFAULT_N_CTX = 12288
# mem0's default is 2,000 output tokens; a looping 135M model would spend minutes per add.
# Ours uses 384 (extraction) and 256 (each decision).
DEFAULT_MEM0_MAX_TOKENS = 512
# Time budget: a busy shared machine can be several times slower than an idle one. The first
# system (mem0, the slower) stops adding (between two adds, never inside one) at this share of
# the budget; the next one then runs exactly the same turns, and only the questions those turns
# answer are asked.
ADD_SHARE = 0.82

log = logging.getLogger("vs_mem0")


def say(msg: str) -> None:
    print(msg, flush=True)


# -- workload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    id: str
    user_id: str
    language: str
    session: int
    user: str
    assistant: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.user},
                {"role": "assistant", "content": self.assistant}]


@dataclass(frozen=True)
class Question:
    id: str
    user_id: str
    language: str
    kind: str
    query: str
    expect: tuple[str, ...]
    outdated: tuple[str, ...]
    needs: tuple[str, ...]


@dataclass
class Workload:
    name: str
    turns: list[Turn]
    questions: list[Question]

    @property
    def users(self) -> list[str]:
        return list(dict.fromkeys(t.user_id for t in self.turns))


def matches(text: str, keys: Iterable[str]) -> bool:
    """Case-insensitive substring match of any key."""
    folded = text.casefold()
    return any(k.casefold() in folded for k in keys)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def validate_workload(data: Any) -> list[str]:
    """Every problem in a workload document (empty list = valid)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["the workload must be a JSON object"]
    for key, kind in (("name", str), ("version", int), ("users", list), ("quick_turns", list)):
        if not isinstance(data.get(key), kind):
            problems.append(f"'{key}' must be a {kind.__name__}")
    if problems:
        return problems
    turn_owner: dict[str, str] = {}
    turn_order: dict[str, int] = {}
    turn_text: dict[str, str] = {}
    seen: set[str] = set()
    questions: list[tuple[str, dict[str, Any]]] = []

    def new_id(value: Any, where: str) -> str | None:
        if not isinstance(value, str) or not value:
            problems.append(f"{where}: 'id' must be a non-empty string")
            return None
        if value in seen:
            problems.append(f"{where}: duplicate id {value!r}")
            return None
        seen.add(value)
        return value

    for u, user in enumerate(data["users"]):
        where = f"users[{u}]"
        if not isinstance(user, dict):
            problems.append(f"{where} must be an object")
            continue
        uid = user.get("user_id")
        if not isinstance(uid, str) or not uid:
            problems.append(f"{where}: 'user_id' must be a non-empty string")
            continue
        if user.get("language") not in LANGUAGES:
            problems.append(f"{where}: 'language' must be one of {LANGUAGES}")
        sessions = user.get("sessions")
        if not isinstance(sessions, list) or not sessions:
            problems.append(f"{where}: 'sessions' must be a non-empty list of lists of turns")
            sessions = []
        for s, session in enumerate(sessions):
            if not isinstance(session, list) or not session:
                problems.append(f"{where}.sessions[{s}] must be a non-empty list of turns")
                continue
            for t, turn in enumerate(session):
                tw = f"{where}.sessions[{s}][{t}]"
                if not isinstance(turn, dict):
                    problems.append(f"{tw} must be an object")
                    continue
                tid = new_id(turn.get("id"), tw)
                for key in ("user", "assistant"):
                    if not isinstance(turn.get(key), str) or not turn[key].strip():
                        problems.append(f"{tw}: '{key}' must be a non-empty string")
                if tid:
                    turn_owner[tid] = uid
                    turn_order[tid] = len(turn_order)
                    turn_text[tid] = str(turn.get("user", ""))
        qs = user.get("questions")
        if not isinstance(qs, list) or not qs:
            problems.append(f"{where}: 'questions' must be a non-empty list")
            qs = []
        for q, question in enumerate(qs):
            qw = f"{where}.questions[{q}]"
            if not isinstance(question, dict):
                problems.append(f"{qw} must be an object")
                continue
            if new_id(question.get("id"), qw):
                questions.append((uid, {**question, "_where": qw}))

    for uid, q in questions:
        qw = q["_where"]
        if q.get("kind") not in KINDS:
            problems.append(f"{qw}: 'kind' must be one of {KINDS}")
        if not isinstance(q.get("query"), str) or not q["query"].strip():
            problems.append(f"{qw}: 'query' must be a non-empty string")
        if not _str_list(q.get("expect")) or not q["expect"]:
            problems.append(f"{qw}: 'expect' must be a non-empty list of strings")
            continue
        outdated = q.get("outdated", [])
        if not _str_list(outdated):
            problems.append(f"{qw}: 'outdated' must be a list of strings")
            continue
        if q.get("kind") == "contradiction" and not outdated:
            problems.append(f"{qw}: a contradiction needs the 'outdated' value(s)")
        if set(k.casefold() for k in q["expect"]) & set(k.casefold() for k in outdated):
            problems.append(f"{qw}: a value is both expected and outdated")
        needs = q.get("needs")
        if not _str_list(needs) or not needs:
            problems.append(f"{qw}: 'needs' must be a non-empty list of turn ids")
            continue
        unknown = [n for n in needs if turn_owner.get(n) != uid]
        if unknown:
            problems.append(f"{qw}: 'needs' names turns that are not this user's: {unknown}")
            continue
        answer_at = [turn_order[n] for n in needs if matches(turn_text[n], q["expect"])]
        if not answer_at:
            problems.append(f"{qw}: no needed turn says any expected value {q['expect']}")
            continue
        if outdated:
            stale_at = [turn_order[n] for n in needs if matches(turn_text[n], outdated)]
            if not stale_at or min(stale_at) >= max(answer_at):
                problems.append(f"{qw}: the outdated value must be said before the current one")

    quick = data["quick_turns"]
    if not _str_list(quick) or not quick:
        problems.append("'quick_turns' must be a non-empty list of turn ids")
    else:
        missing = [t for t in quick if t not in turn_owner]
        if missing:
            problems.append(f"'quick_turns' names unknown turns: {missing}")
        elif not any(set(q.get("needs") or []) <= set(quick) for _, q in questions):
            problems.append("'quick_turns' answers none of the questions")
    return problems


def load_workload(path: Path = WORKLOAD, *, quick: bool = False) -> Workload:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    problems = validate_workload(data)
    if problems:
        raise ValueError(f"{path}: invalid workload:\n  " + "\n  ".join(problems))
    per_user: list[list[list[Turn]]] = []
    questions: list[Question] = []
    for user in data["users"]:
        uid, lang = user["user_id"], user["language"]
        per_user.append([
            [Turn(t["id"], uid, lang, s + 1, t["user"], t["assistant"]) for t in session]
            for s, session in enumerate(user["sessions"])
        ])
        questions.extend(
            Question(q["id"], uid, lang, q["kind"], q["query"], tuple(q["expect"]),
                     tuple(q.get("outdated", [])), tuple(q["needs"]))
            for q in user["questions"]
        )
    # Users two at a time (the file alternates an English and a Chinese user), their sessions
    # alternating: a run cut short by the time budget still holds both languages and the
    # changes of mind of its first users.
    turns = [t for i in range(0, len(per_user), 2)
             for s in range(max(len(u) for u in per_user[i:i + 2]))
             for u in per_user[i:i + 2] if s < len(u) for t in u[s]]
    workload = Workload(data["name"], turns, questions)
    if quick:
        workload = subset(workload, data["quick_turns"])
        workload.name += " (quick)"
    return workload


def subset(workload: Workload, turn_ids: Iterable[str]) -> Workload:
    """The given turns (in workload order) and the questions they answer."""
    keep = set(turn_ids)
    return Workload(workload.name, [t for t in workload.turns if t.id in keep],
                    [q for q in workload.questions if set(q.needs) <= keep])


# -- the counting proxy -----------------------------------------------------------------------


@dataclass(frozen=True)
class LLMCall:
    tag: str
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    valid_json: bool | None  # None: no JSON was asked for
    valid_shape: bool | None
    status: int
    content: str = ""  # the answer's start, for the JSON log


def mem0_shape(obj: Any) -> bool:
    """What mem0 2.x's additive extraction reads: {"memory": [{"text": ...}, ...]}."""
    return (isinstance(obj, dict) and isinstance(obj.get("memory"), list)
            and all(isinstance(m, dict) and isinstance(m.get("text"), str) for m in obj["memory"]))


def ours_shape(obj: Any) -> bool:
    """Our extraction {"facts": [str]}, decision {"actions": [{"event": ...}]} or same-topic
    check {"old_topic": str, "new_topic": str, "same": bool}."""
    if not isinstance(obj, dict):
        return False
    if "same" in obj:
        return isinstance(obj["same"], bool) and all(
            isinstance(obj.get(k), str) for k in ("old_topic", "new_topic"))
    if isinstance(obj.get("facts"), list):
        return all(isinstance(f, str) for f in obj["facts"])
    actions = obj.get("actions")
    return (isinstance(actions, list) and bool(actions) and all(
        isinstance(a, dict) and a.get("event") in ("ADD", "UPDATE", "DELETE", "NONE")
        for a in actions))


SHAPES: dict[str, Callable[[Any], bool]] = {"mem0": mem0_shape, "ours": ours_shape}


class CountingProxy:
    """OpenAI-compatible pass-through at ``http://127.0.0.1:PORT/<tag>/v1`` that records every
    chat completion per tag. Runs its own event loop in a thread (mem0 calls it synchronously,
    ours from the benchmark's event loop)."""

    def __init__(self, upstream: str, shapes: dict[str, Callable[[Any], bool]] | None = None):
        self.upstream = upstream.rstrip("/")
        self.shapes = dict(SHAPES if shapes is None else shapes)
        self._calls: list[LLMCall] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.base = ""

    def url(self, tag: str) -> str:
        return f"{self.base}/{tag}/v1"

    def mark(self) -> int:
        with self._lock:
            return len(self._calls)

    def since(self, mark: int) -> list[LLMCall]:
        with self._lock:
            return list(self._calls[mark:])

    def _record(self, call: LLMCall) -> None:
        with self._lock:
            self._calls.append(call)

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="llm-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the counting proxy did not start")
        return self.base

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        from aiohttp import ClientSession, ClientTimeout, web

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=16 << 20)
        app.router.add_post("/{tag}/v1/chat/completions", self._chat)
        app.router.add_get("/{tag}/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None)

        async def up() -> None:
            self._http = ClientSession(timeout=ClientTimeout(total=None, sock_connect=10))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.base = f"http://127.0.0.1:{port}"

        async def down() -> None:
            await runner.cleanup()
            await self._http.close()

        loop.run_until_complete(up())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(down())
            loop.close()

    async def _models(self, request: Any) -> Any:
        from aiohttp import web

        async with self._http.get(f"{self.upstream}/models") as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type="application/json")

    async def _chat(self, request: Any) -> Any:
        from aiohttp import ClientError, web

        tag = request.match_info["tag"]
        body = await request.json()
        stream = bool(body.pop("stream", False))
        body.pop("stream_options", None)
        body["stream"] = False
        t0 = time.perf_counter()
        try:
            async with self._http.post(f"{self.upstream}/chat/completions", json=body) as resp:
                status, raw = resp.status, await resp.read()
        except ClientError as exc:
            self._record(LLMCall(tag, time.perf_counter() - t0, 0, 0, "error", None, None, 599))
            return web.json_response({"error": {"message": str(exc)}}, status=502)
        seconds = time.perf_counter() - t0
        if status != 200:
            self._record(LLMCall(tag, seconds, 0, 0, "error", None, None, status))
            return web.Response(status=status, body=raw, content_type="application/json")
        data = json.loads(raw)
        choice = data["choices"][0]
        content = (choice.get("message") or {}).get("content") or ""
        usage = data.get("usage") or {}
        valid_json = valid_shape = None
        if body.get("response_format"):
            try:
                obj = json.loads(content)
                valid_json = True
            except ValueError:
                obj, valid_json = None, False
            shape = self.shapes.get(tag)
            valid_shape = bool(valid_json and shape(obj)) if shape else None
        self._record(LLMCall(tag, seconds, int(usage.get("prompt_tokens") or 0),
                             int(usage.get("completion_tokens") or 0),
                             str(choice.get("finish_reason")), valid_json, valid_shape, status,
                             content[:400]))
        if not stream:
            return web.json_response(data)
        sse = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await sse.prepare(request)
        head = {"id": data.get("id", ""), "object": "chat.completion.chunk",
                "created": data.get("created", 0), "model": data.get("model", "")}
        for delta, finish in (({"role": "assistant", "content": content}, None),
                              ({}, choice.get("finish_reason"))):
            chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await sse.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        await sse.write(b"data: [DONE]\n\n")
        await sse.write_eof()
        return sse


# -- the llama.cpp server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(gguf: Path, port: int, n_ctx: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(threads), "--n_threads_batch", str(threads),
            "--flash_attn", "true", "--seed", "0"]


def start_llama_server(cmd: list[str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited; see {log_path}") from None
            time.sleep(0.25)
    stop_process(proc)
    raise RuntimeError(f"llama_cpp.server not ready in 120 s; see {log_path}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()  # uvicorn waits for an unfinished generation otherwise
            proc.wait()


# -- running one system -----------------------------------------------------------------------


@dataclass
class AddRecord:
    turn_id: str
    language: str
    seconds: float
    calls: list[LLMCall]
    error: str | None = None
    events: dict[str, int] = field(default_factory=dict)


@dataclass
class SystemRun:
    name: str
    description: str = ""
    startup_s: float = 0.0
    adds: list[AddRecord] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    answers: dict[str, list[str]] = field(default_factory=dict)  # question id -> top memories
    stored: int = 0
    closed: int | None = None  # memories closed as contradicted (kept in history)
    raw_add_ms: list[float] = field(default_factory=list)
    raw_search_ms: list[float] = field(default_factory=list)
    raw_answers: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0


RAW = "-raw"  # user id suffix of the infer=False copy


def _add_line(name: str, i: int, n: int, rec: AddRecord) -> str:
    p = sum(c.prompt_tokens for c in rec.calls)
    c = sum(c.completion_tokens for c in rec.calls)
    status = f"FAILED {rec.error[:90]}" if rec.error else \
        ", ".join(f"{k} {v}" for k, v in sorted(rec.events.items())) or "nothing stored"
    return (f"  {name} add {i}/{n} {rec.turn_id}: {rec.seconds:.1f} s, {len(rec.calls)} LLM "
            f"call(s), {p}+{c} tokens; {status}")


def run_mem0(workload: Workload, llm_url: str, folder: Path, work: Path, max_tokens: int,
             proxy: CountingProxy, deadline: float = float("inf")) -> SystemRun:
    from mem0 import Memory as Mem0Memory
    from mem0 import __version__ as mem0_version

    config = {
        "llm": {"provider": "openai", "config": {
            "model": "local", "openai_base_url": llm_url, "api_key": "local",
            "max_tokens": max_tokens}},
        "embedder": {"provider": "huggingface", "config": {
            "model": str(folder), "embedding_dims": 384,
            "model_kwargs": {"device": "cpu", "local_files_only": True}}},
        "vector_store": {"provider": "qdrant", "config": {
            "path": str(work / "qdrant"), "collection_name": "bench",
            "embedding_model_dims": 384}},
        "history_db_path": str(work / "history.db"),
    }
    run = SystemRun("mem0", f"mem0ai {mem0_version} Memory: openai provider -> llama_cpp.server, "
                            f"huggingface embedder, local qdrant; max_tokens={max_tokens}")
    t0 = time.perf_counter()
    memory = Mem0Memory.from_config(config)
    _torch_threads()
    run.startup_s = time.perf_counter() - t0
    start = time.perf_counter()
    for i, turn in enumerate(workload.turns, 1):
        if i > 1 and time.perf_counter() > deadline:
            say(f"  mem0: time budget used up after {i - 1} adds")
            break
        mark = proxy.mark()
        rec = AddRecord(turn.id, turn.language, 0.0, [])
        t = time.perf_counter()
        try:
            result = memory.add(turn.messages(), user_id=turn.user_id)
            for r in result.get("results", []):
                rec.events[r.get("event", "?")] = rec.events.get(r.get("event", "?"), 0) + 1
        except Exception as exc:  # mem0 raises on LLM errors (e.g. a too long prompt)
            rec.error = f"{type(exc).__name__}: {exc}"
            log.warning("mem0 add %s failed: %s", turn.id, exc)
        rec.seconds = time.perf_counter() - t
        rec.calls = proxy.since(mark)
        run.adds.append(rec)
        say(_add_line("mem0", i, len(workload.turns), rec))
    workload = subset(workload, [a.turn_id for a in run.adds])
    for turn in workload.turns:
        t = time.perf_counter()
        memory.add(turn.messages(), user_id=turn.user_id + RAW, infer=False)
        run.raw_add_ms.append((time.perf_counter() - t) * 1000)

    def search(query: str, user_id: str) -> list[str]:
        res = memory.search(query, filters={"user_id": user_id}, top_k=TOP_K)
        return [r["memory"] for r in res.get("results", [])]

    search("warm up", workload.users[0])  # lazy set-up on the first search is not timed
    for raw, q, uid in _search_plan(workload):
        for _ in range(SEARCH_REPEATS):
            t = time.perf_counter()
            texts = search(q.query, uid)
            (run.raw_search_ms if raw else run.search_ms).append((time.perf_counter() - t) * 1000)
        (run.raw_answers if raw else run.answers)[q.id] = texts
    run.stored = sum(len(memory.get_all(filters={"user_id": u}, top_k=1000)["results"])
                     for u in workload.users)
    run.seconds = time.perf_counter() - start
    close = getattr(memory, "close", None)
    if close:
        close()
    return run


def _search_plan(workload: Workload) -> Iterable[tuple[bool, Question, str]]:
    """(infer=False copy?, question, user id) for every search, in order."""
    for raw in (False, True):
        for q in workload.questions:
            yield raw, q, q.user_id + (RAW if raw else "")


def _torch_threads() -> None:
    import torch

    torch.set_num_threads(1)


async def run_ours(workload: Workload, llm_url: str, folder: Path, work: Path,
                   proxy: CountingProxy, deadline: float = float("inf"),
                   decisions: str = "llm") -> SystemRun:
    from daemon.config import Config, EmbedderConfig
    from daemon.llm.openai_http import OpenAIChatLLM
    from daemon.memory.embedder import SentenceTransformerEmbedder
    from daemon.memory.factory import build_memory

    cfg = Config(data_dir=work, models_dir=ROOT / "models",
                 embedder=EmbedderConfig(provider="sentence-transformers", model=str(folder)))
    # "llm" = the mem0 method, head to head; the daemon's own default for this tiny local GGUF
    # (memory.decisions: auto) is "add_only".
    cfg.memory.decisions = decisions  # type: ignore[assignment]
    run = SystemRun("ours", f"daemon Memory (build_memory, memory.decisions: {decisions}, other "
                            "memory settings default): OpenAIChatLLM -> llama_cpp.server, "
                            "SentenceTransformerEmbedder")
    t0 = time.perf_counter()
    llm = OpenAIChatLLM(llm_url, model="local")
    embedder = SentenceTransformerEmbedder(folder, n_threads=1)
    memory = build_memory(cfg, llm=llm, embedder=embedder, progress=lambda m: log.info(m))
    await memory.start(save_interval_s=0)
    run.startup_s = time.perf_counter() - t0
    start = time.perf_counter()
    try:
        for i, turn in enumerate(workload.turns, 1):
            if i > 1 and time.perf_counter() > deadline:
                say(f"  ours: time budget used up after {i - 1} adds")
                break
            mark = proxy.mark()
            rec = AddRecord(turn.id, turn.language, 0.0, [])
            t = time.perf_counter()
            try:
                result = await memory.add(turn.messages(), user_id=turn.user_id)
                for r in result.get("results", []):
                    rec.events[r["event"]] = rec.events.get(r["event"], 0) + 1
            except Exception as exc:  # LLMOutputError after the retries, LLM errors
                rec.error = f"{type(exc).__name__}: {exc}"
                log.warning("ours add %s failed: %s", turn.id, exc)
            rec.seconds = time.perf_counter() - t
            rec.calls = proxy.since(mark)
            run.adds.append(rec)
            say(_add_line("ours", i, len(workload.turns), rec))
        workload = subset(workload, [a.turn_id for a in run.adds])
        for turn in workload.turns:
            t = time.perf_counter()
            await memory.add(turn.messages(), user_id=turn.user_id + RAW, infer=False)
            run.raw_add_ms.append((time.perf_counter() - t) * 1000)

        await memory.search("warm up", user_id=workload.users[0], limit=TOP_K)
        for raw, q, uid in _search_plan(workload):
            for _ in range(SEARCH_REPEATS):
                t = time.perf_counter()
                res = await memory.search(q.query, user_id=uid, limit=TOP_K)
                (run.raw_search_ms if raw else run.search_ms).append(
                    (time.perf_counter() - t) * 1000)
            (run.raw_answers if raw else run.answers)[q.id] = [r["memory"] for r in res["results"]]
        for u in workload.users:
            open_rows = (await memory.get_all(user_id=u, limit=1000))["results"]
            all_rows = (await memory.get_all(user_id=u, limit=1000, include_closed=True))["results"]
            run.stored += len(open_rows)
            run.closed = (run.closed or 0) + len(all_rows) - len(open_rows)
        run.seconds = time.perf_counter() - start
    finally:
        await memory.close()
        await llm.close()
    return run


# -- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    value: float | None
    total: int | None = None  # a count out of total


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    better: str  # "lower" / "higher"
    fmt: str = "{:.2f}"


ROWS: tuple[Row, ...] = (
    Row("add_p50_s", "add latency p50 (s)", "lower"),
    Row("add_p95_s", "add latency p95 (s)", "lower"),
    Row("add_first_s", "first add, cold prompt cache (s)", "lower"),
    Row("search_p50_ms", "search latency p50 (ms)", "lower", "{:.1f}"),
    Row("search_p95_ms", "search latency p95 (ms)", "lower", "{:.1f}"),
    Row("llm_calls_per_add", "LLM calls per add", "lower"),
    Row("prompt_tokens_per_add", "prompt tokens per add", "lower", "{:.0f}"),
    Row("completion_tokens_per_add", "completion tokens per add", "lower", "{:.0f}"),
    Row("llm_s_per_add", "LLM time per add (s)", "lower"),
    Row("other_s_per_add", "add time outside the LLM (s)", "lower"),
    Row("adds_failed", "adds that raised an error", "lower"),
    Row("adds_invalid_json", "adds with an invalid-JSON LLM answer", "lower"),
    Row("adds_wrong_shape", "adds with a wrong-shape JSON answer", "lower"),
    Row("llm_truncated", "LLM answers cut off at max_tokens", "lower"),
    Row("memories", "memories stored (searchable)", "-", "{:.0f}"),
    Row("closed", "memories closed as outdated", "-", "{:.0f}"),
    Row("contradictions_current", "contradictions resolved (current value top-1)", "higher"),
    Row("contradictions_outdated", "contradictions: outdated value top-1", "lower"),
    Row("contradictions_top5", "contradictions: current value in top 5, outdated not", "higher"),
    Row("hit5", "retrieval hit@5, all questions", "higher"),
    Row("hit5_en", "retrieval hit@5, English", "higher"),
    Row("hit5_zh", "retrieval hit@5, Chinese", "higher"),
    Row("raw_add_p50_ms", "infer=False: add latency p50 (ms)", "lower", "{:.1f}"),
    Row("raw_search_p50_ms", "infer=False: search latency p50 (ms)", "lower", "{:.1f}"),
    Row("raw_hit5", "infer=False: retrieval hit@5", "higher"),
    Row("raw_contradictions_current", "infer=False: contradictions, current value top-1", "higher"),
)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * pct / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _count(items: Iterable[bool], total: int) -> Figure:
    return Figure(float(sum(1 for x in items if x)), total)


def _answers_figures(answers: dict[str, list[str]], questions: Sequence[Question],
                     prefix: str = "") -> dict[str, Figure]:
    contra = [q for q in questions if q.kind == "contradiction"]

    def top1(q: Question) -> str:
        texts = answers.get(q.id) or []
        return texts[0] if texts else ""

    def hit(q: Question) -> bool:
        return any(matches(t, q.expect) for t in (answers.get(q.id) or [])[:TOP_K])

    def clean(q: Question) -> bool:
        """The current value found and the outdated one not (unless said with it: "moved
        from Berlin to Lisbon")."""
        top = (answers.get(q.id) or [])[:TOP_K]
        return hit(q) and not any(matches(t, q.outdated) and not matches(t, q.expect)
                                  for t in top)

    out = {
        f"{prefix}hit5": _count((hit(q) for q in questions), len(questions)),
        f"{prefix}contradictions_current": _count(
            (matches(top1(q), q.expect) for q in contra), len(contra)),
    }
    if not prefix:
        out["contradictions_outdated"] = _count(
            (matches(top1(q), q.outdated) and not matches(top1(q), q.expect) for q in contra),
            len(contra))
        out["contradictions_top5"] = _count((clean(q) for q in contra), len(contra))
        for lang in LANGUAGES:
            qs = [q for q in questions if q.language == lang]
            out[f"hit5_{lang}"] = _count((hit(q) for q in qs), len(qs))
    return out


def summarise(run: SystemRun, questions: Sequence[Question]) -> dict[str, Figure]:
    adds = run.adds
    n = len(adds)
    calls = [c for a in adds for c in a.calls]

    def per_add(total: float) -> Figure:
        return Figure(total / n if n else None)

    out = {
        "add_p50_s": Figure(percentile([a.seconds for a in adds], 50)),
        "add_p95_s": Figure(percentile([a.seconds for a in adds], 95)),
        "add_first_s": Figure(adds[0].seconds if adds else None),
        "search_p50_ms": Figure(percentile(run.search_ms, 50)),
        "search_p95_ms": Figure(percentile(run.search_ms, 95)),
        "llm_calls_per_add": per_add(len(calls)),
        "prompt_tokens_per_add": per_add(sum(c.prompt_tokens for c in calls)),
        "completion_tokens_per_add": per_add(sum(c.completion_tokens for c in calls)),
        "llm_s_per_add": per_add(sum(c.seconds for c in calls)),
        "other_s_per_add": per_add(sum(a.seconds - sum(c.seconds for c in a.calls)
                                       for a in adds)),
        "adds_failed": _count((a.error is not None for a in adds), n),
        "adds_invalid_json": _count((any(c.valid_json is False for c in a.calls) for a in adds), n),
        "adds_wrong_shape": _count(
            (any(c.valid_json and c.valid_shape is False for c in a.calls) for a in adds), n),
        "llm_truncated": _count((c.finish_reason == "length" for c in calls), len(calls)),
        "memories": Figure(float(run.stored)),
        "closed": Figure(None if run.closed is None else float(run.closed)),
        "raw_add_p50_ms": Figure(percentile(run.raw_add_ms, 50)),
        "raw_search_p50_ms": Figure(percentile(run.raw_search_ms, 50)),
    }
    out.update(_answers_figures(run.answers, questions))
    out.update(_answers_figures(run.raw_answers, questions, "raw_"))
    return out


def format_figure(fig: Figure | None, fmt: str) -> str:
    if fig is None or fig.value is None:
        return "n/a"
    if fig.total is not None:
        pct = f" ({fig.value / fig.total:.0%})" if fig.total else ""
        return f"{fig.value:.0f}/{fig.total}{pct}"
    return fmt.format(fig.value)


def ratio(ours: Figure | None, mem0: Figure | None) -> str:
    """ours/mem0, as a plain number; '—' when undefined (a missing value or 0/0)."""
    if ours is None or mem0 is None or ours.value is None or mem0.value is None:
        return "—"
    a, b = ours.value, mem0.value
    if ours.total and mem0.total and ours.total != mem0.total:  # different denominators
        a, b = a / ours.total, b / mem0.total
    if b == 0:
        return "—" if a == 0 else "∞"
    return f"{a / b:.2f}"


def format_table(figures: dict[str, dict[str, Figure]]) -> str:
    names = [s for s in SYSTEMS if s in figures]
    head = "| figure | " + " | ".join(names) + " | ours/mem0 | better |"
    lines = [head, "|" + "---|" * (len(names) + 3)]
    for row in ROWS:
        cells = [format_figure(figures[s].get(row.key), row.fmt) for s in names]
        r = ratio(figures.get("ours", {}).get(row.key), figures.get("mem0", {}).get(row.key))
        lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {r} | {row.better} |")
    return "\n".join(lines)


def format_report(figures: dict[str, dict[str, Figure]], meta: dict[str, Any]) -> str:
    lines = [f"# xiaozhi-memd vs mem0: {meta.get('date', date.today().isoformat())}", ""]
    for key in ("workload", "machine", "llm", "server", "embedder", "mem0", "ours",
                "run_time"):
        if key in meta:
            lines.append(f"- {key.replace('_', ' ')}: {meta[key]}")
    lines += ["", format_table(figures), ""]
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


# -- main -------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return pkg_version(dist)
    except PackageNotFoundError:
        return "?"


def _set_offline_env(work: Path) -> None:
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(work / "mem0-home")  # not ~/.mem0
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    for key in ("OPENROUTER_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        os.environ.pop(key, None)


def workload_line(name: str, todo: Workload, full: Workload, budget: float) -> str:
    line = (f"{name}: {len(todo.turns)} adds per system "
            f"({sum(t.language == 'zh' for t in todo.turns)} Chinese), "
            f"{len(todo.questions)} questions "
            f"({sum(q.kind == 'contradiction' for q in todo.questions)} contradictions), "
            "top-5 search")
    if len(todo.turns) < len(full.turns):
        line += (f"; CUT SHORT by the {budget:g}-minute budget: {len(todo.turns)} of "
                 f"{len(full.turns)} turns, {len(todo.questions)} of {len(full.questions)} "
                 "questions")
    return line


def _reshaped(call: LLMCall) -> LLMCall:
    """A saved call's shape judged again by today's shape check, when its whole answer was
    saved (a run before the same-topic check was known counted it as wrong-shape)."""
    shape = SHAPES.get(call.tag)
    if shape is None or not call.valid_json:
        return call
    try:
        obj = json.loads(call.content)
    except ValueError:
        return call  # only the answer's start was saved
    return replace(call, valid_shape=bool(shape(obj)))


def run_from_dict(d: dict[str, Any]) -> SystemRun:
    """A SystemRun back from its saved JSON form."""
    run = SystemRun(**{k: v for k, v in d.items() if k != "adds"})
    run.adds = [AddRecord(**{**a, "calls": [_reshaped(LLMCall(**c)) for c in a["calls"]]})
                for a in d["adds"]]
    return run


def save_runs(path: Path, runs: dict[str, SystemRun], meta: dict[str, Any],
              turns_run: Sequence[str], quick: bool, budget: float) -> None:
    path.write_text(json.dumps({
        "meta": meta, "quick": quick, "budget_min": budget, "turns_run": list(turns_run),
        "runs": {name: asdict(run) for name, run in runs.items()},
    }, ensure_ascii=False, indent=1), encoding="utf-8")


def rescore(saved: Path, workload_path: Path, out: Path | None) -> str:
    """The report of a saved run, re-scored with the current workload file (no models run)."""
    data = json.loads(saved.read_text(encoding="utf-8"))
    full = load_workload(workload_path, quick=data["quick"])
    todo = subset(full, data["turns_run"])
    runs = {name: run_from_dict(d) for name, d in data["runs"].items()}
    meta = dict(data["meta"])
    meta["workload"] = workload_line(workload_path.name, todo, full, data["budget_min"])
    meta["notes"] = [*meta.get("notes", []),
                     f"Re-scored on {date.today().isoformat()} from {saved.name} with the "
                     "workload file as it is now (same runs, same answers)."]
    report = format_report({n: summarise(r, todo.questions) for n, r in runs.items()}, meta)
    if out is not None:
        out.write_text(report, encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: up to 4 adds per system, 3-minute budget")
    ap.add_argument("--workload", type=Path, default=WORKLOAD)
    ap.add_argument("--threads", type=int, default=1, help="llama_cpp.server threads")
    ap.add_argument("--model", default="", help="GGUF for both systems: a catalogue name or "
                    "a file (default: the config default, qwen2.5-coder-1.5b-instruct)")
    ap.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX)
    ap.add_argument("--mem0-max-tokens", type=int, default=DEFAULT_MEM0_MAX_TOKENS)
    ap.add_argument("--budget-min", type=float, default=None,
                    help=f"the first system stops adding at {ADD_SHARE:.0%} of this many minutes "
                    "since the start, and the second runs the same turns; default 14 "
                    "(--quick: 3); 0 = no limit")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="comma-separated subset of mem0,ours (in this order)")
    ap.add_argument("--out", type=Path, default=None, help="report file (default: "
                    "bench/results/vs_mem0-<date>[-quick].md; '-' = do not write)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, stores)")
    ap.add_argument("--decisions", choices=["llm", "add_only"], default="llm",
                    help="ours: memory.decisions (default llm: the mem0 method head to head)")
    ap.add_argument("--rescore", type=Path, default=None, metavar="RESULTS.json",
                    help="no run: rebuild the report of a saved run with the current workload "
                    "file (written beside it unless --out)")
    args = ap.parse_args(argv)
    if args.rescore:
        out = None if str(args.out) == "-" else (args.out or args.rescore.with_suffix(".md"))
        say(rescore(args.rescore, args.workload, out))
        return 0
    systems = [s for s in args.systems.split(",") if s]
    if not systems or any(s not in SYSTEMS for s in systems):
        ap.error(f"--systems takes names from {SYSTEMS}")

    t_start = time.perf_counter()
    budget = (3.0 if args.quick else 14.0) if args.budget_min is None else args.budget_min
    budget_s = budget * 60 if budget > 0 else float("inf")
    from daemon.config import Config
    from daemon.modelfiles import CATALOG, ModelMissingError, find_model, resolve_gguf

    workload = load_workload(args.workload, quick=args.quick)
    model = args.model or Config().llm.model
    try:
        gguf = resolve_gguf(model, ROOT / "models")
    except ModelMissingError as exc:
        say(str(exc))
        return 2
    folder = find_model(CATALOG["all-minilm-l6-v2"], ROOT / "models")
    if folder is None:
        say("the embedder is missing: run `xiaozhi-memd models install all-minilm-l6-v2`")
        return 2
    work = Path(tempfile.mkdtemp(prefix="vs_mem0-"))
    _set_offline_env(work)
    logging.basicConfig(filename=work / "bench.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # sentence-transformers draws progress bars when its logger is at INFO
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    say(f"workload {workload.name}: {len(workload.turns)} adds per system, "
        f"{len(workload.questions)} questions; logs in {work}")

    port = free_port()
    cmd = server_command(gguf, port, args.n_ctx, args.threads)
    t = time.perf_counter()
    server = start_llama_server(cmd, port, work / "llama_server.log")
    say(f"llama_cpp.server ready in {time.perf_counter() - t:.1f} s")
    proxy = CountingProxy(f"http://127.0.0.1:{port}/v1")
    proxy.start()
    runs: dict[str, SystemRun] = {}
    todo = workload
    try:
        for n, name in enumerate(systems):
            deadline = t_start + ADD_SHARE * budget_s if n == 0 else float("inf")
            say(f"running {name} ...")
            (work / name).mkdir()
            if name == "mem0":
                runs[name] = run_mem0(todo, proxy.url("mem0"), folder, work / name,
                                      args.mem0_max_tokens, proxy, deadline=deadline)
            else:
                runs[name] = asyncio.run(run_ours(todo, proxy.url("ours"), folder,
                                                  work / name, proxy, deadline=deadline,
                                                  decisions=args.decisions))
            todo = subset(todo, [a.turn_id for a in runs[name].adds])
            say(f"{name}: {runs[name].seconds:.0f} s (+{runs[name].startup_s:.0f} s start-up)")
    finally:
        proxy.stop()
        stop_process(server)
    total = time.perf_counter() - t_start

    # Figures over the turns every system ran and the questions those turns answer.
    figures = {name: summarise(run, todo.questions) for name, run in runs.items()}
    today = date.today().isoformat()
    meta = {
        "date": f"{today}{' (--quick)' if args.quick else ''}",
        "workload": workload_line(args.workload.name, todo, workload, budget),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, load average at the end "
                   f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "llm": f"{gguf.name} via llama-cpp-python {_version('llama_cpp_python')} "
               f"llama_cpp.server, one process for both systems, behind a counting proxy",
        "server": f"--n_ctx {args.n_ctx} --n_threads {args.threads} --flash_attn true "
                  "--seed 0",
        "embedder": "all-MiniLM-L6-v2 (sentence-transformers "
                    f"{_version('sentence-transformers')}, torch 1 thread), the same folder",
        "run_time": f"{total / 60:.1f} min in all (adds and searches: "
                    + ", ".join(f"{n} {r.seconds:.0f} s" for n, r in runs.items())
                    + f"; time budget {budget:g} min)",
        "notes": [
            "Ratios are ours/mem0 (for counts: of the rates). 'better' says which way is good.",
            "Latencies are wall-clock per call on a shared 2-core machine; the LLM dominates adds.",
            "A question is a hit@5 when an expected keyword is in any of the top 5 memories; a "
            "contradiction is resolved when the top memory holds the current value; 'current "
            "value in top 5, outdated not' also counts a memory naming only the old value.",
            "mem0 runs without its optional spaCy (`nlp` extra) and fastembed BM25, which are "
            "not installed here (their models download at run time): its search is "
            "semantic-only, as mem0 falls back to.",
        ],
    }
    for name, run in runs.items():
        meta[name] = run.description
    report = format_report(figures, meta)
    say("")
    say(report)
    if str(args.out) != "-":
        out = args.out or RESULTS / f"vs_mem0-{today}{'-quick' if args.quick else ''}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")
        save_runs(out.with_suffix(".json"), runs, meta, [t.id for t in todo.turns],
                  args.quick, budget)
        say(f"written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
