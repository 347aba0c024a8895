"""A full or read-only disk under the data dir: turns go on, memory writes pause with a clear
error, and resume (nothing lost) when the disk has room again. Needs root for a small tmpfs."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import websockets

HELLO = {"type": "hello", "version": 1, "transport": "websocket"}


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True
    ).returncode != 0:
        pytest.skip("needs root and tmpfs to make a small disk")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


async def turn(ws, text: str) -> list[dict]:
    await ws.send(json.dumps({"type": "listen", "state": "detect", "text": text}))
    got: list[dict] = []
    while not got or got[-1] != {"type": "tts", "state": "stop"}:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if msg.get("type") != "mcp":
            got.append(msg)
    return got


async def eventually(check, timeout: float = 20.0) -> bool:
    """Poll `check` until it holds: the server logs and commits in the background."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def messages(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT content FROM messages WHERE role = 'user' ORDER BY seq")]


async def test_full_disk_pauses_memory_writes_and_loses_nothing(make_server, small_disk: Path) -> None:
    server = make_server(data_dir=str(small_disk / "data"), llm={"provider": "scripted"})
    server.start()
    server.wait_ready()
    db = small_disk / "data" / "memory.sqlite3"
    filler = small_disk / "filler"
    async with websockets.connect(server.ws_url, additional_headers={"Device-Id": "df:00"}) as ws:
        await ws.send(json.dumps(HELLO))
        await ws.recv()
        assert (await turn(ws, "one"))[-1]["state"] == "stop"

        with filler.open("wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        for text in ("two", "three", "four"):
            got = await turn(ws, text)
            assert got[0] == {"type": "stt", "text": text} and got[-1]["state"] == "stop"
        assert await eventually(lambda: "memory writes paused" in server.log()), server.log()
        assert "disk is full" in server.log() or "disk I/O" in server.log()

        filler.unlink()
        await turn(ws, "five")
        assert await eventually(lambda: "memory writes resumed" in server.log()), server.log()
        want = ["one", "two", "three", "four", "five"]
        assert await eventually(lambda: messages(db) == want), messages(db)

    assert server.stop() == 0, server.log()


def test_read_only_data_dir_at_start_is_one_clear_error(tmp_path: Path, small_disk: Path) -> None:
    from tests.support.server import fatal_line, run_cli, write_config

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(small_disk / "data"),
                                             "llm": {"provider": "scripted"}})
    error = fatal_line(run_cli("--config", str(cfg), "serve"))
    assert "data dir" in error and "not writable" in error
