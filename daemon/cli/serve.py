"""``xiaozhi-memd serve``: the WebSocket + HTTP server until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal

from daemon.cli.common import under
from daemon.config import Config
from daemon.progress import say


async def _serve(cfg: Config) -> None:
    from daemon.server.app import Daemon, run_until_stopped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_until_stopped(Daemon(cfg, progress=say), stop)


def run(args: argparse.Namespace, cfg: Config) -> int:
    if args.host:
        cfg.server.host = args.host
    if args.port is not None:
        cfg.server.websocket_port = args.port
    if args.http_port is not None:
        cfg.server.http_port = args.http_port
    try:
        asyncio.run(_serve(cfg))
    except OSError as exc:
        if under(exc, cfg.data_dir):
            raise
        say(f"xiaozhi-memd: cannot listen: {exc} (is another server using the port? "
            "change server.websocket_port / server.http_port)")
        return 1
    say("stopped")
    return 0
