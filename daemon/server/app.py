"""Daemon: builds the services from the configuration and runs the WebSocket and HTTP servers."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from daemon.audio.services import load_voice
from daemon.config import Config
from daemon.llm.base import ChatLLM
from daemon.llm.factory import make_llm
from daemon.llm.llamacpp import LlamaCppLLM
from daemon.memory.factory import build_memory, redact_dsn
from daemon.memory.memory import AsyncMemory
from daemon.memory.worker import MemoryWorker
from daemon.progress import Progress, logged
from daemon.protocol import AudioParams, identity_from_request
from daemon.server.auth import DeviceAuth, load_or_create_api_key
from daemon.server.ota import add_ota_routes
from daemon.server.rest import add_rest_routes
from daemon.server.session import Session
from daemon.server.trim import trim_loop
from daemon.turn import TurnRunner

if TYPE_CHECKING:
    from daemon.audio.services import AudioServices

log = logging.getLogger(__name__)


class Daemon:
    """Everything one running server owns; ``start`` then ``stop``."""

    def __init__(self, cfg: Config, *, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.progress = progress or logged(log)
        self.llm: ChatLLM | None = None
        self.extract_llm: ChatLLM | None = None
        self.memory: AsyncMemory | None = None
        self.worker: MemoryWorker | None = None
        self.turns: TurnRunner | None = None
        self.audio: AudioServices | None = None
        self.sessions: set[Session] = set()
        self._ws: Server | None = None
        self._http: web.AppRunner | None = None
        self.ws_port = 0
        self.auth = DeviceAuth(cfg.server.auth, cfg.data_dir)
        self.http_port = 0
        self._trim: asyncio.Task[None] | None = None

    async def start_services(self) -> None:
        """Models, memory and worker (what `serve` and `chat` share)."""
        cfg = self.cfg
        self.progress(f"loading chat model ({cfg.llm.provider}: {cfg.llm.model})")
        self.llm = await asyncio.to_thread(make_llm, cfg.llm, cfg.models_dir)
        extraction_model = cfg.memory.extraction_model
        if isinstance(self.llm, LlamaCppLLM) and extraction_model in ("", cfg.llm.model):
            # The same weights with a context of its own: extraction in the background never
            # queues behind a turn, and neither evicts the other's cached prompt (+0.12 GB
            # instead of a second 1.3 GB copy).
            self.extract_llm = self.llm.sibling(n_threads=cfg.llm.llamacpp.n_threads)
        elif cfg.llm.provider == "llamacpp":
            self.progress(f"loading extraction model ({extraction_model})")
            self.extract_llm = await asyncio.to_thread(
                make_llm, cfg.llm, cfg.models_dir, model=extraction_model
            )
        else:
            self.extract_llm = self.llm
        self.progress(f"loading embedding model ({cfg.embedder.provider}: {cfg.embedder.model})")
        memory = await asyncio.to_thread(
            build_memory, cfg, llm=self.extract_llm, progress=self.progress
        )
        where = (f"PostgreSQL {redact_dsn(cfg.memory.dsn)}" if cfg.memory.store == "postgresql"
                 else str(cfg.data_dir))
        self.progress(f"opening memory store in {where}")
        await memory.start()
        await memory.warm()
        self.memory = memory
        self.worker = MemoryWorker(
            memory, max_attempts=cfg.memory.job_max_attempts, backoff_s=cfg.memory.job_backoff_s
        )
        await self.worker.start()
        self.turns = TurnRunner(cfg, self.llm, memory, self.worker)

    async def start(self) -> None:
        # Voice models load first (a required one that is missing stops us before anything
        # else is running), off the event loop; with `auto` a missing one turns voice off.
        self.audio = await asyncio.to_thread(load_voice, self.cfg, self.progress)
        await self.start_services()
        s = self.cfg.server
        self._ws = await serve(
            self._handle, s.host, s.websocket_port, max_size=s.max_message_bytes,
            process_request=self._check_path, ping_interval=30, ping_timeout=30,
            close_timeout=5,
        )
        self.ws_port = next(iter(self._ws.sockets)).getsockname()[1]
        app = web.Application(client_max_size=self.cfg.api.max_body_bytes)
        add_ota_routes(app, s, self.auth)
        assert self.memory is not None
        api_key = load_or_create_api_key(self.cfg.api.key, self.cfg.data_dir)
        add_rest_routes(app, self.memory, self.worker, api_key, self.auth)
        app.router.add_get("/health", self._health)
        # A client that goes away cancels its request's work (no orphan embedding runs on).
        self._http = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._http.setup()
        site = web.TCPSite(self._http, s.host, s.http_port)
        await site.start()
        server = site._server  # aiohttp keeps the bound socket here
        self.http_port = server.sockets[0].getsockname()[1] if server else s.http_port  # type: ignore[union-attr]
        self._trim = asyncio.create_task(trim_loop(), name="malloc-trim")
        self.progress(
            f"ready: devices connect to ws://{s.host}:{self.ws_port}{s.websocket_path} "
            f"(OTA http://{s.host}:{self.http_port}/xiaozhi/ota/)"
        )

    async def stop(self) -> None:
        if self._trim is not None:
            self._trim.cancel()
        if self._ws is not None:
            log.debug("stopping: closing device connections")
            self._ws.close()
            await self._ws.wait_closed()
        if self._http is not None:
            log.debug("stopping: HTTP")
            await self._http.cleanup()
        if self.turns is not None:
            log.debug("stopping: writing the last exchanges")
            await self.turns.drain()
        if self.worker is not None:
            log.debug("stopping: memory worker")
            await self.worker.stop()
        if self.memory is not None:
            log.debug("stopping: saving indexes, closing the store")
            await self.memory.close()
        log.debug("stopping: models")
        for llm in {id(x): x for x in (self.llm, self.extract_llm) if x}.values():
            await llm.close()
        if self.audio is not None:
            self.audio.close()

    async def _health(self, request: web.Request) -> web.Response:
        # Counts for operators and leak tests: open descriptors and live asyncio tasks.
        try:
            fds = len(os.listdir("/proc/self/fd"))
        except OSError:
            fds = -1
        return web.json_response({"status": "ok", "server": "xiaozhi-memd", "pid": os.getpid(),
                                  "websocket_port": self.ws_port, "http_port": self.http_port,
                                  "devices": len(self.sessions),
                                  "tasks": len(asyncio.all_tasks()), "fds": fds,
                                  "rss_kb": _rss_kb()})

    def _check_path(self, conn: ServerConnection, request: Request) -> Response | None:
        """Before the WebSocket handshake: the path, then the device's right to connect."""
        parts = urlsplit(request.path)
        if parts.path.rstrip("/") != self.cfg.server.websocket_path.rstrip("/"):
            return conn.respond(404, "Not a xiaozhi endpoint\n")
        identity = identity_from_request(request.headers, parse_qs(parts.query))
        refused = self.auth.check(identity.device_id, identity.token)
        if refused is not None:
            log.warning("device %s refused: %s", identity.device_id or "(no id)", refused)
            return conn.respond(401, f"Unauthorized: {refused}\n")
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        assert self.turns is not None
        request = conn.request
        assert request is not None
        query = parse_qs(urlsplit(request.path).query)
        identity = identity_from_request(request.headers, query)
        user_id = identity.device_id or identity.client_id
        if not user_id:
            log.warning("connection without Device-Id or Client-Id refused")
            await conn.close(1008, "Device-Id header or device-id query parameter required")
            return
        s = self.cfg.server
        session = Session(
            conn, identity, user_id, self.turns, hello_timeout_s=s.hello_timeout_s,
            idle_timeout_s=s.idle_timeout_s,
            server_audio=AudioParams(format="opus", sample_rate=s.sample_rate, channels=1,
                                     frame_duration=s.frame_duration_ms),
            audio=self.audio,
        )
        self.sessions.add(session)
        try:
            await session.run()
        except Exception:
            log.exception("session of device %s ended by an error", user_id)
        finally:
            self.sessions.discard(session)


def _rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


async def run_until_stopped(daemon: Daemon, stop: asyncio.Event) -> None:
    try:
        await daemon.start()
    except BaseException:
        # A start that failed half-way (a port in use, a missing model) still closes what it
        # opened: the worker, SQLite's threads. Otherwise the process would never exit.
        await daemon.stop()
        raise
    try:
        await stop.wait()
    finally:
        daemon.progress("shutting down")
        await daemon.stop()
