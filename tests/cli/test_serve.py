"""`xiaozhi-memd serve` as the installed console script: the embedded defaults answer a
device's hello; a port in use is a clear error and the process exits."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import websockets

from tests.support.server import run_cli, write_config


def _hello_roundtrip(url: str) -> dict:
    async def go() -> dict:
        async with websockets.connect(
            url, additional_headers={"Device-Id": "11:22:33:44:55:66", "Client-Id": "t"},
            open_timeout=5,
        ) as ws:
            await ws.send(json.dumps({
                "type": "hello", "version": 1, "features": {"mcp": False},
                "transport": "websocket",
                "audio_params": {"format": "opus", "sample_rate": 16000, "channels": 1,
                                 "frame_duration": 60},
            }))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    return asyncio.run(go())


def test_serve_on_the_embedded_defaults_answers_hello_within_30s(make_server) -> None:
    """The README's command 1 path: default models (real GGUF + real embedder)."""
    server = make_server(models_dir=str(Path(__file__).resolve().parents[2] / "models"))
    t0 = time.monotonic()
    server.start()
    hello = None
    while time.monotonic() - t0 < 30:
        try:
            hello = _hello_roundtrip(server.ws_url)
            break
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            assert server.proc is not None and server.proc.poll() is None, server.log()
            time.sleep(0.25)
    elapsed = time.monotonic() - t0
    assert hello is not None, f"no hello within 30 s:\n{server.log()}"
    assert elapsed < 30
    assert hello["type"] == "hello" and hello["transport"] == "websocket"
    assert hello["session_id"]
    assert hello["audio_params"] == {"format": "opus", "sample_rate": 24000, "channels": 1,
                                     "frame_duration": 60}
    assert server.stop() == 0, server.log()
    assert "shutting down" in server.log()

def test_port_in_use_is_a_clear_error_and_the_process_exits(tmp_path: Path) -> None:
    """A start that fails after the store and worker are up must still exit (not hang)."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = write_config(tmp_path / "c.yaml", {
            "data_dir": str(tmp_path / "data"), "llm": {"provider": "scripted"},
            "server": {"host": "127.0.0.1", "websocket_port": port, "http_port": 0},
        })
        out = run_cli("--config", str(cfg), "serve", timeout=60)
    assert out.returncode == 1
    assert "cannot listen" in out.stderr and "Traceback" not in out.stderr
