"""Load: many simulated devices doing text turns against a running server, on loopback.

    python bench/load_bench.py                      # starts its own server (scripted LLM)
    python bench/load_bench.py --url ws://127.0.0.1:8000/xiaozhi/v1/ --http http://127.0.0.1:8003

Each device connects, says hello, then loops: `listen detect` -> waits for `tts stop`. With the
scripted model answering at once, the turn time is the server's own overhead (memory lookup,
prompt, protocol, recording and queueing the exchange). Prints turn p50/p95, errors, and the
server's RSS, task and descriptor counts before and after. Bounded in devices and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
import yaml

HELLO = {"type": "hello", "version": 1, "transport": "websocket",
         "audio_params": {"format": "opus", "sample_rate": 16000, "channels": 1,
                          "frame_duration": 60}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(http: str) -> dict:
    with urllib.request.urlopen(f"{http}/health", timeout=5) as r:
        return json.loads(r.read())


async def device(url: str, n: int, until: float, times: list[float], errors: list[str]) -> None:
    headers = {"Device-Id": f"lo:ad:00:00:{n // 256:02x}:{n % 256:02x}", "Client-Id": f"c{n}"}
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=20,
                                      max_size=None) as ws:
            await ws.send(json.dumps(HELLO))
            while json.loads(await asyncio.wait_for(ws.recv(), 20)).get("type") != "hello":
                pass
            turn = 0
            while time.monotonic() < until:
                turn += 1
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "listen", "state": "detect",
                                          "text": f"device {n} turn {turn}: I like tea number {turn}"}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if msg.get("type") == "tts" and msg.get("state") == "stop":
                        break
                times.append(time.perf_counter() - t0)
    except Exception as exc:  # counted, not raised: the run reports every failure
        errors.append(f"device {n}: {type(exc).__name__}: {exc}")


async def run(url: str, devices: int, seconds: float) -> tuple[list[float], list[str]]:
    times: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(device(url, i, until, times, errors) for i in range(devices)))
    return times, errors


def start_server(tmp: Path) -> tuple[subprocess.Popen, str, str]:
    ws_port, http_port = _free_port(), _free_port()
    cfg = {"data_dir": str(tmp / "data"), "llm": {"provider": "scripted"},
           "logging": {"level": "WARNING"},
           "server": {"host": "127.0.0.1", "websocket_port": ws_port, "http_port": http_port}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    exe = Path(sys.executable).parent / "xiaozhi-memd"
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([str(exe), "--config", str(tmp / "config.yaml"), "serve"],
                            stdout=log, stderr=subprocess.STDOUT)
    http = f"http://127.0.0.1:{http_port}"
    for _ in range(600):
        try:
            health(http)
            break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited:\n{(tmp / 'server.log').read_text()}") from None
            time.sleep(0.1)
    return proc, f"ws://127.0.0.1:{ws_port}/xiaozhi/v1/", http


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--url", help="WebSocket URL of a running server (default: start one)")
    ap.add_argument("--http", help="its HTTP base URL (for /health)")
    ap.add_argument("--json", action="store_true", help="print one JSON line of results")
    args = ap.parse_args()
    if not 1 <= args.devices <= 1000 or not 0 < args.seconds <= 600:
        ap.error("devices must be 1..1000 and seconds 0..600")
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url, http = args.url, args.http
        else:
            proc, url, http = start_server(Path(tmp))
        try:
            before = health(http) if http else {}
            print(f"{args.devices} devices for {args.seconds:.0f} s against {url}",
                  file=sys.stderr)
            times, errors = asyncio.run(run(url, args.devices, args.seconds))
            # Let the server close the connections and drain lookups that timed out under load.
            after = health(http) if http else {}
            for _ in range(60):
                if not http or after.get("tasks", 0) <= before.get("tasks", 0) + 3:
                    break
                time.sleep(0.5)
                after = health(http)
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    ms = sorted(t * 1000 for t in times)
    result = {
        "devices": args.devices, "seconds": args.seconds, "turns": len(ms),
        "errors": len(errors), "first_errors": errors[:5],
        "turn_p50_ms": round(statistics.median(ms), 1) if ms else None,
        "turn_p95_ms": round(ms[int(len(ms) * 0.95) - 1], 1) if ms else None,
        "rss_kb_before": before.get("rss_kb"), "rss_kb_after": after.get("rss_kb"),
        "tasks_before": before.get("tasks"), "tasks_after": after.get("tasks"),
        "fds_before": before.get("fds"), "fds_after": after.get("fds"),
        "server_exit_code": proc.returncode if proc else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"turns: {result['turns']} ({result['turns'] / args.seconds:.0f}/s), "
              f"errors: {result['errors']}")
        print(f"turn time (server overhead, scripted LLM): p50 {result['turn_p50_ms']} ms, "
              f"p95 {result['turn_p95_ms']} ms")
        print(f"server RSS: {before.get('rss_kb')} kB -> {after.get('rss_kb')} kB; "
              f"tasks {before.get('tasks')} -> {after.get('tasks')}; "
              f"fds {before.get('fds')} -> {after.get('fds')}")
        for e in errors[:5]:
            print("  " + e)
    return 0 if not errors else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
