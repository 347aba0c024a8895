"""``xiaozhi-memd chat``: turns typed in the terminal, through the same pipeline as a device."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from daemon.config import Config
from daemon.progress import say


async def _chat(cfg: Config, user: str, wait_s: float) -> None:
    from daemon.protocol import Tts
    from daemon.server.app import Daemon
    from daemon.turn import TurnContext

    daemon = Daemon(cfg, progress=say)
    await daemon.start_services()
    assert daemon.turns is not None and daemon.worker is not None
    ctx = TurnContext(session_id=f"chat-{os.getpid()}", user_id=user)
    say(f"chatting as user '{user}' (memories are kept per user). Empty line, /quit or Ctrl-D quits.")

    async def show(msg: object) -> None:
        if isinstance(msg, Tts) and msg.state == "sentence_start":
            print(f"xiaozhi> {msg.text}", flush=True)

    try:
        daemon.turns.prepare(ctx)  # read while the user types
        while True:
            line = await asyncio.to_thread(_read_line, "you> ")
            if not line or line.casefold() in _QUIT:
                break
            await daemon.turns.run(ctx, line, show)
    finally:
        if wait_s > 0:
            say("saving what was learned (memory extraction)...")
            if not await daemon.worker.wait_idle(timeout=wait_s):
                say("extraction continues at the next start (the queue is kept on disk)")
        await daemon.stop()


_QUIT = frozenset({"/quit", "/exit", "/q", "/bye"})


def _read_line(prompt: str) -> str:
    try:
        if sys.stdin.isatty():
            return input(prompt).strip()
        return sys.stdin.readline().strip()
    except EOFError:
        return ""


def run(args: argparse.Namespace, cfg: Config) -> int:
    asyncio.run(_chat(cfg, args.user, args.wait))
    return 0
